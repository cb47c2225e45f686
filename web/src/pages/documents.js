import * as api from "../api.js";
import { bytes, h, showError } from "../dom.js";

// Upload (with a progress bar fed by the events stream), list, status, delete, download.
export async function documentsPage(main) {
  const file = h("input", { id: "file", type: "file", required: true });
  const title = h("input", { id: "title", placeholder: "Title (optional)" });
  const progress = h("progress", { id: "progress", max: 100, value: 0, hidden: true });
  const stage = h("span", { id: "stage", "aria-live": "polite" });
  const rows = h("tbody");
  const form = h(
    "form",
    { class: "card", "aria-label": "Upload a document" },
    h("h1", { text: "Documents" }),
    h("label", { for: "file", text: "File" }),
    file,
    h("label", { for: "title", text: "Title" }),
    title,
    h("button", { type: "submit", text: "Upload" }),
    h("div", { class: "progress" }, progress, stage),
  );
  const table = h(
    "table",
    { class: "card", "aria-label": "Your documents" },
    h("thead", {}, h("tr", {}, ...["Title", "Status", "Size", ""].map((t) => h("th", { text: t })))),
    rows,
  );
  main.append(form, table);

  const stop = new AbortController();
  const watching = new Map(); // document id -> progress

  async function refresh() {
    const page = await api.call("GET", "/documents?limit=100");
    rows.replaceChildren(
      ...page.items.map((d) =>
        h(
          "tr",
          { "data-id": d.id },
          h("td", { text: d.title }),
          h("td", { class: `status ${d.status}`, text: d.status }),
          h("td", { text: bytes(d.size) }),
          h(
            "td",
            { class: "actions" },
            h("button", { type: "button", text: "Download", onclick: () => download(d) }),
            h("button", { type: "button", text: "Delete", onclick: () => remove(d) }),
          ),
        ),
      ),
    );
  }

  async function download(d) {
    try {
      const url = URL.createObjectURL(await api.blob(`/documents/${d.id}/content`));
      const link = h("a", { href: url, download: d.filename || d.title });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      showError(error);
    }
  }

  async function remove(d) {
    if (!confirm(`Delete “${d.title}”?`)) return;
    try {
      await api.call("DELETE", `/documents/${d.id}`);
      await refresh();
    } catch (error) {
      showError(error);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) return;
    const data = new FormData();
    data.append("file", file.files[0]);
    if (title.value) data.append("title", title.value);
    try {
      const created = await api.call("POST", "/documents", { form: data });
      progress.hidden = false;
      progress.value = 0;
      stage.textContent = created.status;
      watching.set(created.id, true);
      form.reset();
      await refresh();
    } catch (error) {
      showError(error);
    }
  });

  // Progress of every document this user may read, as it happens.
  (async () => {
    try {
      const response = await api.call("GET", "/events", { accept: "text/event-stream", signal: stop.signal });
      for await (const [kind, event] of api.events(response)) {
        if (kind !== "document") continue;
        const cell = rows.querySelector(`tr[data-id="${event.document_id}"] .status`);
        if (cell) {
          cell.textContent = event.stage;
          cell.className = `status ${event.stage}`;
        }
        if (watching.has(event.document_id)) {
          progress.value = event.percent;
          stage.textContent = event.error ? `${event.stage}: ${event.error}` : event.stage;
          if (event.stage === "ready" || event.stage === "failed") {
            watching.delete(event.document_id);
            await refresh();
          }
        }
      }
    } catch (error) {
      if (!stop.signal.aborted) showError(error);
    }
  })();

  await refresh();
  return () => stop.abort();
}

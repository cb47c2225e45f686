// Documents: upload several files at once to personal or to an area you may write,
// each with its upload progress (bytes) and its ingestion (events); filter and list.
import "./documents.css";
import * as api from "../api.js";
import { attempt, bytes, confirmed, field, h, notify, when } from "../dom.js";
import { download } from "./passage.js";

const PAGE = 50;
const STAGES = ["queued", "extracting", "chunking", "embedding", "ready", "failed"];

// The areas this user may upload to: administrators all, others those with write.
function writable(user, areas) {
  if (user.role === "admin") return areas;
  const can = new Set(user.permissions.filter((p) => p.write).map((p) => p.area_id));
  return areas.filter((a) => can.has(a.id));
}

// Follows /events for the documents this user may read; calls `seen(event)` for each.
export function followEvents(seen) {
  const stop = new AbortController();
  (async () => {
    for (let retry = 0; !stop.signal.aborted; retry = Math.min(retry + 1, 5)) {
      try {
        const response = await api.call("GET", "/events", { accept: "text/event-stream", signal: stop.signal });
        retry = 0;
        for await (const [kind, event] of api.events(response)) if (kind === "document") seen(event);
      } catch {
        // dropped or refused: try again, a little later each time
      }
      if (!stop.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** retry));
    }
  })();
  return () => stop.abort();
}

export async function documentsPage(main, { user }) {
  const areas = (await api.call("GET", "/areas?limit=100")).items;
  const areaName = new Map(areas.map((a) => [a.id, a.name]));
  const targets = writable(user, areas);
  const latest = new Map(); // document id -> its last event, for uploads still being answered

  // The upload form.
  const files = h("input", { id: "files", name: "files", type: "file", multiple: true, required: true });
  const drop = h("div", { class: "drop" }, h("label", { for: "files", text: "Files" }), files,
    h("p", { class: "muted", text: "or drop them here · PDF, Word, HTML, Markdown, text, CSV, JSON" }));
  const uploads = h("ul", { class: "uploads", "aria-label": "Uploads" });
  const form = h("form", { class: "card upload", "aria-label": "Upload documents" },
    h("h2", { text: "Upload" }),
    drop,
    h("div", { class: "grid fields" },
      field("upload-scope", "Into", { options: [{ value: "", label: "Personal" }, ...targets.map((a) => ({ value: a.id, label: `Area: ${a.name}` }))] }),
      field("upload-tags", "Tags", { placeholder: "comma, separated", maxlength: 1100 }),
      field("upload-description", "Description", { maxlength: 2000 })),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: "Upload" })),
    uploads);
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    files.files = event.dataTransfer.files;
  });

  // The filters and the list.
  const filters = h("form", { class: "row filters", role: "search", "aria-label": "Filter documents" },
    field("filter-q", "Title", { type: "search", maxlength: 200 }),
    field("filter-scope", "Scope", { options: [{ value: "", label: "All" }, { value: "personal", label: "Personal" }, { value: "shared", label: "Areas" }] }),
    field("filter-area", "Area", { options: [{ value: "", label: "Any" }, ...areas.map((a) => ({ value: a.id, label: a.name }))] }),
    field("filter-tag", "Tag", { maxlength: 50 }),
    field("filter-status", "Status", { options: [{ value: "", label: "Any" }, ...STAGES] }));
  const rows = h("tbody");
  const count = h("p", { class: "muted", "aria-live": "polite" });
  const before = h("button", { type: "button", text: "Previous", onclick: () => refresh(offset - PAGE) });
  const after = h("button", { type: "button", text: "Next", onclick: () => refresh(offset + PAGE) });
  let offset = 0;
  main.append(h("div", { class: "page documents" },
    h("h1", { text: "Documents" }),
    form,
    h("section", { class: "card", "aria-label": "Your documents" },
      h("h2", { text: "Library" }), filters, count,
      h("div", { class: "scroll" }, h("table", { "aria-label": "Documents" },
        h("thead", {}, h("tr", {}, ...["Title", "Where", "Tags", "Status", "Size", "Updated", ""].map((t) => h("th", { text: t })))),
        rows)),
      h("div", { class: "row" }, before, after))));

  function where(d) {
    return d.scope === "shared" ? areaName.get(d.area_id) || "an area" : "Personal";
  }

  function status(d) {
    const label = d.status === "ready" || d.status === "failed" ? d.status : `${d.status} ${d.percent}%`;
    return h("td", { class: `status ${d.status}`, title: d.error || null, text: d.error ? `${label}: ${d.error}` : label });
  }

  async function refresh(from = offset) {
    const values = Object.fromEntries(new FormData(filters).entries());
    const query = new URLSearchParams({ limit: String(PAGE), offset: String(Math.max(0, from)) });
    if (values["filter-q"]) query.set("q", values["filter-q"]);
    if (values["filter-scope"]) query.set("scope", values["filter-scope"]);
    if (values["filter-area"]) query.set("area_id", values["filter-area"]);
    if (values["filter-tag"]) query.set("tag", values["filter-tag"]);
    if (values["filter-status"]) query.set("status", values["filter-status"]);
    const page = await api.call("GET", `/documents?${query}`);
    offset = page.offset;
    rows.replaceChildren(...page.items.map((d) => h("tr", { "data-id": d.id },
      h("td", {}, h("a", { href: `#/document/${d.id}`, text: d.title })),
      h("td", { text: where(d) }),
      h("td", {}, ...d.tags.map((t) => h("span", { class: "tag", text: t }))),
      status(d),
      h("td", { text: bytes(d.size) }),
      h("td", { text: when(d.updated_at) }),
      h("td", { class: "actions" },
        h("button", { type: "button", text: "Download", "aria-label": `Download ${d.title}`, onclick: () => attempt(() => download(d.id, d.filename)) }),
        h("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${d.title}`, onclick: () => remove(d) })))));
    if (!page.items.length) rows.append(h("tr", {}, h("td", { colspan: 7, class: "empty", text: "No documents match." })));
    count.textContent = page.total ? `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}` : "";
    before.hidden = page.offset === 0;
    after.hidden = page.offset + page.items.length >= page.total;
    before.parentElement.hidden = before.hidden && after.hidden;
  }

  async function remove(d) {
    if (!(await confirmed(`Delete “${d.title}”?`))) return;
    await attempt(async () => {
      await api.call("DELETE", `/documents/${d.id}`);
      notify(`Deleted ${d.title}`);
      await refresh();
    });
  }

  let typing = 0;
  filters.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => attempt(() => refresh(0)), 250);
  });
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(() => refresh(0));
  });

  // One line per file: its bytes sent, then its ingestion as the events tell it.
  function track(file) {
    const sent = h("progress", { max: file.size || 1, value: 0, "aria-label": `Upload of ${file.name}` });
    const ingest = h("progress", { max: 100, value: 0, "aria-label": `Ingestion of ${file.name}`, hidden: true });
    const state = h("span", { class: "state", text: `0 B of ${bytes(file.size)}` });
    const item = h("li", {}, h("span", { class: "name", text: file.name }), h("span", { class: "bars" }, sent, ingest), state);
    uploads.prepend(item);
    return {
      progress(loaded) {
        sent.value = loaded;
        state.textContent = `${bytes(loaded)} of ${bytes(file.size)}`;
      },
      event(event) {
        ingest.hidden = false;
        ingest.value = event.percent;
        item.dataset.stage = event.stage;
        state.textContent = event.error ? `${event.stage}: ${event.error}` : `${event.stage} ${event.percent}%`;
        if (event.stage === "ready") state.textContent = "ready";
      },
      same(stage) {
        item.dataset.stage = stage;
        state.textContent = `already there (the same content): ${stage}`;
      },
      failed(message) {
        item.dataset.stage = "failed";
        state.textContent = `failed: ${message}`;
      },
    };
  }
  const tracked = new Map(); // document id -> its line

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = [...files.files];
    if (!chosen.length) return;
    const area = form.elements["upload-scope"].value;
    const tags = form.elements["upload-tags"].value;
    const description = form.elements["upload-description"].value;
    files.value = "";
    // One at a time: each gets the link's whole speed, and its bar means what it says.
    for (const file of chosen) {
      const line = track(file);
      const data = new FormData();
      data.append("file", file);
      data.append("scope", area ? "shared" : "personal");
      if (area) data.append("area_id", area);
      if (tags) data.append("tags", tags);
      if (description) data.append("description", description);
      try {
        const created = await api.upload("/documents", data, (loaded) => line.progress(loaded));
        line.progress(file.size);
        tracked.set(created.id, line);
        if (created.duplicate) line.same(created.status);
        else line.event(latest.get(created.id) || { stage: created.status, percent: 0 });
      } catch (error) {
        line.failed(error.message);
      }
      await attempt(() => refresh());
    }
  });

  const stopEvents = followEvents((event) => {
    latest.set(event.document_id, event);
    tracked.get(event.document_id)?.event(event);
    const cell = rows.querySelector(`tr[data-id="${event.document_id}"] .status`);
    if (cell) cell.replaceWith(status({ status: event.stage, percent: event.percent, error: event.error }));
    if (event.stage === "ready" || event.stage === "failed") attempt(() => refresh());
  });

  try {
    await refresh(0);
  } catch (error) {
    stopEvents(); // the page is not shown: the router has nothing to end when it is left
    throw error;
  }
  return stopEvents;
}

// One document: what is known of it, its chunks as indexed, edit, download, delete.
import * as api from "../api.js";
import { attempt, bytes, confirmed, field, h, notify, when } from "../dom.js";
import { download } from "./passage.js";

const PAGE = 20;

export async function documentPage(main, { args, params }) {
  const id = args[0];
  let doc = await api.call("GET", `/documents/${encodeURIComponent(id)}`);
  const wanted = params.has("chunk") ? Number(params.get("chunk")) : null;
  let offset = wanted === null ? 0 : Math.max(0, wanted - (wanted % PAGE));
  const heading = h("h1", { class: "grow", text: doc.title });
  const meta = h("dl", { class: "meta" });
  const chunks = h("ol", { class: "chunks", "aria-label": "Chunks" });
  const counted = h("p", { class: "muted" });
  const before = h("button", { type: "button", text: "Previous chunks", onclick: () => show(offset - PAGE) });
  const after = h("button", { type: "button", text: "Next chunks", onclick: () => show(offset + PAGE) });
  const edit = h("form", { class: "card", "aria-label": "Edit the document" },
    h("h2", { text: "Edit" }),
    field("doc-title", "Title", { required: true, maxlength: 200, value: doc.title }),
    field("doc-description", "Description", { rows: 3, maxlength: 2000 }),
    field("doc-tags", "Tags", { maxlength: 1100, value: doc.tags.join(", ") }),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: "Save" })));
  edit.elements["doc-description"].value = doc.description;

  function describe() {
    const area = doc.scope === "shared" ? `area ${doc.area_id}` : "personal";
    const items = [
      ["Status", doc.error ? `${doc.status}: ${doc.error}` : doc.status],
      ["Where", area],
      ["File", `${doc.filename} (${doc.media_type}, ${bytes(doc.size)})`],
      ["Pages", doc.pages || "—"],
      ["Chunks", doc.chunk_count],
      ["Tags", doc.tags.join(", ") || "—"],
      ["Description", doc.description || "—"],
      ["Uploaded", when(doc.created_at)],
      ["Changed", when(doc.updated_at)],
    ];
    meta.replaceChildren(...items.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: String(v) })]));
    heading.textContent = doc.title;
  }

  async function show(from) {
    const page = await api.call("GET", `/documents/${doc.id}/chunks?offset=${Math.max(0, from)}&limit=${PAGE}`);
    offset = page.offset;
    chunks.replaceChildren(...page.items.map((c) => h("li", { id: `chunk-${c.index}`, class: c.index === wanted ? "wanted" : null },
      h("p", { class: "muted where", text: [`#${c.index + 1}`, c.page ? `page ${c.page}` : null, c.headings.join(" › ") || null].filter(Boolean).join(" · ") }),
      h("div", { class: "passage", text: c.text }))));
    if (!page.items.length) chunks.append(h("li", { class: "empty", text: doc.status === "ready" ? "No text was found in it." : "Not indexed yet." }));
    counted.textContent = page.total ? `Chunks ${page.offset + 1}–${page.offset + page.items.length} of ${page.total}` : "";
    before.hidden = page.offset === 0;
    after.hidden = page.offset + page.items.length >= page.total;
  }

  edit.addEventListener("submit", async (event) => {
    event.preventDefault();
    const tags = edit.elements["doc-tags"].value.split(",").map((t) => t.trim()).filter(Boolean);
    await attempt(async () => {
      doc = await api.call("PATCH", `/documents/${doc.id}`, { json: {
        title: edit.elements["doc-title"].value.trim(), description: edit.elements["doc-description"].value, tags } });
      describe();
      notify("Saved");
    });
  });

  main.append(h("div", { class: "page documents" },
    h("p", {}, h("a", { href: "#/documents", text: "← Documents" })),
    h("div", { class: "row" }, heading,
      h("button", { type: "button", text: "Download", onclick: () => attempt(() => download(doc.id, doc.filename)) }),
      h("button", { type: "button", class: "danger", text: "Delete", onclick: async () => {
        if (!(await confirmed(`Delete “${doc.title}”?`))) return;
        await attempt(async () => {
          await api.call("DELETE", `/documents/${doc.id}`);
          location.hash = "#/documents";
        });
      } })),
    h("div", { class: "grid" }, h("section", { class: "card", "aria-label": "About the document" }, h("h2", { text: "About" }), meta), edit),
    h("section", { class: "card", "aria-label": "Chunks as indexed" }, h("h2", { text: "Chunks" }), counted, chunks,
      h("div", { class: "row" }, before, after))));
  describe();
  await show(offset);
  if (wanted !== null) document.getElementById(`chunk-${wanted}`)?.scrollIntoView({ block: "center" });
}

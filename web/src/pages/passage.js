// The side panel a citation opens: the cited passage among its neighbours, where it
// is (page, headings), the original to download; a terminal session's replay at its time.
import * as api from "../api.js";
import { attempt, h } from "../dom.js";
import { replayHash } from "../terminal/links.js";

export async function download(documentId, filename) {
  const url = URL.createObjectURL(await api.blob(`/documents/${documentId}/content`));
  const link = h("a", { href: url, download: filename || "document" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

let open = null; // the panel shown now: {node, back}

export function closePassage() {
  if (!open) return;
  const { node, back, onKey } = open;
  open = null;
  document.removeEventListener("keydown", onKey);
  node.remove();
  back?.focus?.();
}

// Shows source `source` ({n, document_id, title, chunk_index, page, snippet, link}).
export async function showPassage(source, back) {
  closePassage();
  const body = h("div", { class: "body" });
  const close = h("button", { type: "button", class: "quiet", "aria-label": "Close the passage", text: "×",
    onclick: closePassage });
  const node = h(
    "aside",
    { class: "drawer", id: "passage", "aria-label": `Source ${source.n}`, tabindex: "-1" },
    h("header", {}, h("h2", { text: `[${source.n}] ${source.title}` }), close),
    body,
  );
  const onKey = (event) => {
    if (event.key === "Escape") closePassage();
  };
  open = { node, back, onKey };
  document.addEventListener("keydown", onKey);
  document.body.append(node);
  node.focus();

  const replay = replayHash(source.link);
  const where = [source.page ? `page ${source.page}` : null, `passage ${source.chunk_index + 1}`]
    .filter(Boolean).join(" · ");
  body.append(h("p", { class: "muted", text: where }));
  if (replay) {
    body.append(h("p", {}, h("a", { href: replay, onclick: () => closePassage(), text: "Open the replay at this moment" })));
  }
  const passages = h("div", { class: "passages" }, h("p", { class: "passage cited", text: source.snippet }));
  body.append(passages);
  if (replay) return;
  body.append(h("div", { class: "row" },
    h("button", { type: "button", text: "Download the original", onclick: () => attempt(() => download(source.document_id, source.title)) }),
    h("a", { href: `#/document/${source.document_id}?chunk=${source.chunk_index}`, onclick: () => closePassage(),
      text: "Open the document" })));
  // The passage with the one before and the one after, as stored.
  const from = Math.max(0, source.chunk_index - 1);
  try {
    const page = await api.call("GET", `/documents/${source.document_id}/chunks?offset=${from}&limit=3`);
    if (open?.node !== node) return;
    passages.replaceChildren(...page.items.map((chunk) => {
      const cited = chunk.index === source.chunk_index;
      return h("section", { class: cited ? "passage cited" : "passage", "aria-label": cited ? "The cited passage" : `Passage ${chunk.index + 1}` },
        chunk.headings.length ? h("p", { class: "muted headings", text: chunk.headings.join(" › ") }) : null,
        cited ? h("mark", { text: chunk.text }) : chunk.text);
    }));
  } catch (error) {
    if (open?.node !== node) return;
    passages.append(h("p", { class: "muted", text: error.status === 404 ? "The document is no longer there." : error.message }));
  }
}

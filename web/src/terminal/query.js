// Ask the knowledge base without leaving the terminal: the answer streams in beside it,
// rendered from Markdown, with its numbered sources; then the terminal has the keyboard
// again.
import * as api from "../api.js";
import { h } from "../dom.js";
import { markdown } from "../markdown.js";
import { explain } from "./dialog.js";
import { replayHash } from "./links.js";

// Each [n] of the answer becomes a link to its source in the list below it.
function cite(root, sources) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const hits = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (/\[\d+\]/.test(node.nodeValue) && !node.parentElement.closest("code, pre, a")) hits.push(node);
  }
  for (const node of hits) {
    const parts = node.nodeValue.split(/(\[\d+\])/);
    node.replaceWith(
      ...parts.map((part) => {
        const n = /^\[(\d+)\]$/.exec(part);
        if (!n || !sources.some((s) => s.n === Number(n[1]))) return part;
        return h("button", {
          type: "button",
          class: "term-cite",
          title: `Source ${n[1]}`,
          text: part,
          onclick: () => document.getElementById(`term-source-${n[1]}`)?.querySelector("a")?.focus(),
        });
      }),
    );
  }
}

function sourceItem(source) {
  const replay = replayHash(source.link);
  const href = replay || `#/document/${encodeURIComponent(source.document_id)}`;
  return h(
    "li",
    { id: `term-source-${source.n}` },
    h("a", { href }, source.title || "untitled"),
    source.page ? h("span", { class: "muted", text: `, page ${source.page}` }) : null,
    replay ? h("span", { class: "muted", text: " (replay)" }) : null,
    h("p", { class: "term-snippet", text: source.snippet }),
  );
}

// `done()` gives the terminal its focus back.
export function queryPanel({ done, close }) {
  const question = h("textarea", { id: "term-question", rows: 2, required: true, placeholder: "Enter asks; Shift+Enter for a new line" });
  const ask = h("button", { type: "submit", class: "primary", text: "Ask" });
  const answer = h("div", { class: "term-answer", id: "term-answer", "aria-live": "polite" });
  const sources = h("ol", { class: "term-sources", id: "term-sources", "aria-label": "Sources" });
  const state = h("p", { class: "muted term-count", role: "status" });
  const form = h(
    "form",
    { class: "term-ask" },
    h("label", { for: "term-question", text: "Question" }),
    question,
    h("div", { class: "row" }, ask, h("span", { class: "muted", text: "Ctrl+Shift+K from the terminal" })),
  );
  const element = h(
    "section",
    { class: "term-panel", id: "term-ask-panel", "aria-labelledby": "term-ask-title", hidden: true },
    h("header", {}, h("h2", { id: "term-ask-title", text: "Ask the knowledge base" }),
      h("button", { type: "button", class: "quiet", text: "Close", "aria-label": "Close the question panel", onclick: () => close() })),
    form,
    state,
    answer,
    sources,
  );

  let asking = null;
  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (!text) return;
    asking?.abort();
    const controller = new AbortController();
    asking = controller;
    answer.replaceChildren();
    sources.replaceChildren();
    state.textContent = "Looking it up…";
    ask.disabled = true;
    let written = "";
    let cited = [];
    let frame = 0;
    const draw = () => {
      frame = 0;
      const rendered = markdown(written);
      cite(rendered, cited);
      answer.replaceChildren(rendered);
    };
    let failed = false;
    try {
      const response = await api.call("POST", "/rag/query", {
        json: { question: text },
        accept: "text/event-stream",
        signal: controller.signal,
      });
      for await (const [kind, data] of api.events(response)) {
        if (controller.signal.aborted) return;
        if (kind === "sources") {
          cited = data;
          sources.replaceChildren(...data.map(sourceItem));
        } else if (kind === "token") {
          written += data.text;
          if (!frame) frame = requestAnimationFrame(draw);
        } else if (kind === "error") {
          failed = true;
          state.textContent = data.message || "The answer failed.";
        }
      }
      cancelAnimationFrame(frame);
      draw();
      if (!failed) state.textContent = cited.length ? `Answered from ${cited.length} source${cited.length === 1 ? "" : "s"}.` : "Answered, with no source.";
    } catch (error) {
      if (error?.name === "AbortError") return;
      failed = true;
      state.textContent = explain(error);
    } finally {
      if (asking === controller) {
        asking = null;
        ask.disabled = false;
      }
    }
    if (!failed) done();
  });

  return {
    element,
    focus: () => question.focus(),
    dispose: () => asking?.abort(),
  };
}

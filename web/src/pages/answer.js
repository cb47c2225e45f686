// One answer as the Ask page shows it: Markdown whose [n] open the cited passage,
// the sources under it, and a thumb up or down that is stored with the question.
import * as api from "../api.js";
import { attempt, h, icon, modal, notify } from "../dom.js";
import { markdown } from "../markdown.js";
import { showPassage } from "./passage.js";

const CITATION = /\[(\d{1,3})\]/g;

// Replaces each [n] of a known source in the text (outside code) by a button.
function cite(root, sources) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement.closest("code, pre, a") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode);
  for (const text of texts) {
    const value = text.nodeValue;
    if (!value.includes("[")) continue;
    const parts = [];
    let at = 0;
    for (const found of value.matchAll(CITATION)) {
      const source = sources.find((s) => s.n === Number(found[1]));
      if (!source) continue;
      parts.push(value.slice(at, found.index));
      const button = h("button", { type: "button", class: "cite", "aria-label": `Source ${source.n}: ${source.title}`,
        text: found[0] });
      button.addEventListener("click", () => showPassage(source, button));
      parts.push(button);
      at = found.index + found[0].length;
    }
    parts.push(value.slice(at));
    text.replaceWith(...parts);
  }
}

export class AnswerView {
  constructor({ question, answer = "", sources = [], queryId = null, feedback = null, note = "" }) {
    this.text = answer;
    this.sources = sources;
    this.queryId = queryId;
    this.body = h("div", { class: "markdown" });
    this.list = h("ol", { class: "sources", "aria-label": "Sources" });
    this.note = h("p", { class: "muted note", text: note });
    this.up = h("button", { type: "button", class: "quiet thumb", "aria-label": "Good answer", "aria-pressed": "false",
      onclick: () => this.rate("up") }, icon("up"));
    this.down = h("button", { type: "button", class: "quiet thumb", "aria-label": "Bad answer", "aria-pressed": "false",
      onclick: () => this.rate("down") }, icon("down"));
    this.actions = h("div", { class: "row actions" }, this.up, this.down);
    this.node = h(
      "li",
      { class: "turn" },
      h("div", { class: "question" }, h("span", { class: "visually-hidden", text: "You asked: " }), question),
      this.article = h("article", { class: "answer", "aria-label": "Answer" }, this.body, this.list, this.note, this.actions),
    );
    this.showRating(feedback?.rating || null);
    this.actions.hidden = !queryId;
    this.render();
  }

  append(text) {
    this.text += text;
    if (this.pending) return;
    // One render per frame however fast the tokens come.
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.render();
    });
  }

  setSources(sources) {
    this.sources = sources;
    this.render();
  }

  render() {
    this.body.replaceChildren(markdown(this.text || ""));
    cite(this.body, this.sources);
    this.list.replaceChildren(...this.sources.map((s) => {
      const button = h("button", { type: "button", class: "source", text: s.title });
      button.addEventListener("click", () => showPassage(s, button));
      return h("li", { value: s.n }, button, s.page ? h("span", { class: "muted", text: ` p. ${s.page}` }) : null);
    }));
    this.list.hidden = !this.sources.length;
  }

  // While it streams the answer is re-rendered each frame: the thread's live region waits
  // for the whole of it instead of reading every frame out.
  busy(on) {
    if (on) this.article.setAttribute("aria-busy", "true");
    else this.article.removeAttribute("aria-busy");
  }

  finish({ queryId, note }) {
    this.busy(false);
    cancelAnimationFrame(this.pending);
    this.pending = 0;
    this.render();
    if (queryId) this.queryId = queryId;
    this.actions.hidden = !this.queryId;
    if (note !== undefined) this.note.textContent = note;
  }

  showRating(rating) {
    this.up.setAttribute("aria-pressed", String(rating === "up"));
    this.down.setAttribute("aria-pressed", String(rating === "down"));
  }

  async rate(rating) {
    let comment = "";
    if (rating === "down") {
      const box = h("textarea", { id: "feedback-comment", rows: 3, maxlength: 2000 });
      const given = await modal("What was wrong?", [h("label", { for: "feedback-comment", text: "Comment (optional)" }), box], [
        { value: "cancel", text: "Cancel" },
        { value: "send", text: "Send", primary: true },
      ]);
      if (!given) return;
      comment = box.value;
    }
    await attempt(async () => {
      await api.call("POST", `/rag/history/${this.queryId}/feedback`, { json: { rating, comment } });
      this.showRating(rating);
      notify("Thanks: your rating is stored.");
    });
  }
}

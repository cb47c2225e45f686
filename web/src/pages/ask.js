import * as api from "../api.js";
import { h, showError } from "../dom.js";

// A question; the answer streams in; each [n] links to the cited passage.
export async function askPage(main) {
  const question = h("textarea", { id: "question", rows: 3, required: true });
  const answer = h("div", { id: "answer", class: "answer", "aria-live": "polite" });
  const sources = h("ol", { id: "sources", class: "sources" });
  const passage = h("pre", { id: "passage", class: "passage", hidden: true, tabindex: "-1" });
  const form = h(
    "form",
    { class: "card", "aria-label": "Ask" },
    h("h1", { text: "Ask your documents" }),
    h("label", { for: "question", text: "Question" }),
    question,
    h("button", { type: "submit", text: "Ask" }),
  );
  main.append(form, h("section", { class: "card", "aria-label": "Answer" }, answer, sources, passage));
  let cited = [];

  function render(text) {
    // Citations become links to their passage.
    answer.replaceChildren(
      ...text.split(/(\[\d+\])/).map((part) => {
        const n = /^\[(\d+)\]$/.exec(part);
        if (!n || !cited[Number(n[1]) - 1]) return part;
        return h("a", { href: `#source-${n[1]}`, class: "cite", onclick: (e) => open(e, Number(n[1])) }, part);
      }),
    );
  }

  function open(event, n) {
    event.preventDefault();
    const source = cited[n - 1];
    passage.textContent = `[${n}] ${source.title}${source.page ? `, page ${source.page}` : ""}\n\n${source.snippet}`;
    passage.hidden = false;
    passage.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(null);
    answer.textContent = "";
    sources.replaceChildren();
    passage.hidden = true;
    let text = "";
    try {
      const response = await api.call("POST", "/rag/query", {
        json: { question: question.value },
        accept: "text/event-stream",
      });
      for await (const [kind, data] of api.events(response)) {
        if (kind === "sources") {
          cited = data;
          sources.replaceChildren(
            ...data.map((s) =>
              h("li", { id: `source-${s.n}` }, h("a", { href: "#", onclick: (e) => open(e, s.n) }, s.title)),
            ),
          );
        } else if (kind === "token") {
          text += data.text;
          render(text);
        } else if (kind === "error") {
          showError(new Error(data.message));
        }
      }
    } catch (error) {
      showError(error);
    }
  });
  question.focus();
}

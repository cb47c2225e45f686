// The find bar over the terminal's scrollback: Enter finds the next match, Shift+Enter
// the previous one, Escape closes it and gives the terminal its focus back.
import { h } from "../dom.js";
import { searchColours } from "./screen.js";

export function findBar(screen) {
  const input = h("input", { id: "term-find-input", type: "search", autocomplete: "off", spellcheck: "false" });
  const count = h("span", { class: "term-find-count muted", "aria-live": "polite" });
  const caseful = h("input", { id: "term-find-case", type: "checkbox" });
  const bar = h(
    "div",
    { class: "term-find", role: "search", "aria-label": "Find in the terminal", hidden: true },
    h("label", { for: "term-find-input", text: "Find" }),
    input,
    count,
    h("button", { type: "button", class: "quiet", text: "Previous", "aria-keyshortcuts": "Shift+Enter", onclick: () => find(false) }),
    h("button", { type: "button", class: "quiet", text: "Next", "aria-keyshortcuts": "Enter", onclick: () => find(true) }),
    h("label", { class: "check", for: "term-find-case" }, caseful, "Match case"),
    h("button", { type: "button", class: "quiet", text: "Close", "aria-keyshortcuts": "Escape", onclick: () => close() }),
  );

  const results = screen.search.onDidChangeResults(({ resultIndex, resultCount }) => {
    if (!input.value) count.textContent = "";
    else if (!resultCount) count.textContent = "no matches";
    else if (resultIndex < 0) count.textContent = `${resultCount}+ matches`;
    else count.textContent = `${resultIndex + 1} of ${resultCount}`;
  });

  function options(incremental) {
    return { caseSensitive: caseful.checked, incremental, decorations: searchColours() };
  }

  function find(forward, incremental = false) {
    if (!input.value) {
      screen.search.clearDecorations();
      count.textContent = "";
      return;
    }
    const found = forward
      ? screen.search.findNext(input.value, options(incremental))
      : screen.search.findPrevious(input.value, options(false));
    if (!found) count.textContent = "no matches";
  }

  input.addEventListener("input", () => find(true, true));
  caseful.addEventListener("change", () => find(true));
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      find(!event.shiftKey);
    }
  });
  bar.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });

  function open() {
    bar.hidden = false;
    const selected = screen.term.getSelection();
    if (selected && !selected.includes("\n")) input.value = selected;
    input.focus();
    input.select();
    if (input.value) find(true, true);
  }

  function close() {
    bar.hidden = true;
    screen.search.clearDecorations();
    count.textContent = "";
    screen.term.focus();
  }

  return {
    element: bar,
    open,
    close,
    dispose: () => results.dispose(),
  };
}

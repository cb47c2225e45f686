// The command log: search what was typed (all my sessions, or the one shown), each
// command with its time, exit code and session; one opens the replay at its moment.
import * as api from "../api.js";
import { h, when } from "../dom.js";
import { explain } from "./dialog.js";
import { replayAt, secondsInto } from "./links.js";
import { titleOf } from "./sessions.js";

// `sessions()` the sessions known to the page, `currentId()` the one shown.
export function commandLog({ sessions, currentId, close }) {
  const query = h("input", { id: "term-commands-q", type: "search", autocomplete: "off", spellcheck: "false", placeholder: "words in the command" });
  const here = h("input", { id: "term-commands-here", type: "checkbox" });
  const list = h("ol", { class: "term-commands", "aria-label": "Commands" });
  const count = h("p", { class: "muted term-count", "aria-live": "polite" });
  const element = h(
    "section",
    { class: "term-panel", id: "term-commands-panel", "aria-labelledby": "term-commands-title", hidden: true },
    h("header", {}, h("h2", { id: "term-commands-title", text: "Command log" }),
      h("button", { type: "button", class: "quiet", text: "Close", "aria-label": "Close the command log", onclick: () => close() })),
    h(
      "form",
      { role: "search", class: "term-commands-search", onsubmit: (event) => { event.preventDefault(); load(); } },
      h("label", { for: "term-commands-q", text: "Search commands" }),
      query,
      h("label", { class: "check", for: "term-commands-here" }, here, "This session only"),
    ),
    count,
    list,
  );

  let typing = 0;
  let inflight = null;
  query.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(load, 250);
  });
  here.addEventListener("change", load);

  function entry(command) {
    const session = sessions().find((s) => s.id === command.session_id);
    const t = session ? secondsInto(session, command.started_at) : null;
    const code = command.exit_code === null || command.exit_code === undefined ? "exit ?" : `exit ${command.exit_code}`;
    const failed = command.exit_code !== null && command.exit_code !== undefined && command.exit_code !== 0;
    return h(
      "li",
      {},
      h(
        "a",
        { class: "term-command", href: replayAt(command.session_id, t), title: "Replay from this command" },
        h("code", { class: "term-command-text", text: command.command }),
        h(
          "span",
          { class: "term-item-meta" },
          h("time", { datetime: command.started_at, text: when(command.started_at) }),
          " · ",
          h("span", { class: failed ? "term-exit failed" : "term-exit", text: code }),
          " · ",
          session ? titleOf(session) : command.host || "a session",
        ),
      ),
    );
  }

  async function load() {
    clearTimeout(typing);
    inflight?.abort();
    const controller = new AbortController();
    inflight = controller;
    const params = new URLSearchParams({ limit: "50" });
    if (query.value.trim()) params.set("q", query.value.trim());
    const id = currentId();
    if (here.checked && id) params.set("session_id", id);
    try {
      const page = await api.call("GET", `/terminal/commands?${params}`, { signal: controller.signal });
      if (controller.signal.aborted) return;
      list.replaceChildren(...page.items.map(entry));
      count.textContent = page.total
        ? `${page.total} command${page.total === 1 ? "" : "s"}${page.total > page.items.length ? `, the latest ${page.items.length} shown` : ""}`
        : query.value.trim() ? "No command has these words." : "No commands logged yet.";
    } catch (error) {
      if (error?.name === "AbortError") return;
      count.textContent = explain(error);
    }
  }

  return {
    element,
    load,
    focus: () => query.focus(),
    dispose: () => {
      clearTimeout(typing);
      inflight?.abort();
    },
  };
}

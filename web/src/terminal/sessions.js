// The side list: my sessions, those shared with me, and the ended ones (to replay),
// each with its live status; the one this tab shows is marked current.
import { h, when } from "../dom.js";
import { replayAt } from "./links.js";
import { nameOf } from "./people.js";

const ENDED = new Set(["closed", "failed"]);

export function isEnded(session) {
  return ENDED.has(session.status);
}

export function targetOf(session) {
  const t = session.target || {};
  if (t.type === "ssh") return `${t.username}@${t.host}${t.port && t.port !== 22 ? `:${t.port}` : ""}`;
  const shell = (t.shell || "").split("/").pop();
  return shell ? `local ${shell}` : "local shell";
}

export function titleOf(session) {
  return session.title || targetOf(session);
}

// What this tab knows beats the record (which catches up a moment later).
export function statusOf(session, current) {
  if (current?.id === session.id && !isEnded(session)) {
    if (current.state === "attached") return current.role === "driver" ? "attached here" : "observing here";
    if (current.state === "connecting") return "attaching…";
    if (current.state === "reconnecting") return "reconnecting…";
  }
  switch (session.status) {
    case "connecting":
      return "opening…";
    case "connected":
      return "attached elsewhere";
    case "detached":
      return "detached";
    case "closed":
      return session.exit_code === null || session.exit_code === undefined ? "ended" : `ended (exit ${session.exit_code})`;
    case "failed":
      return session.error ? `failed: ${session.error}` : "failed";
    default:
      return session.status;
  }
}

// `pick(session)` when one is chosen.
export function sessionList({ user, pick }) {
  const mine = h("ul", { "aria-labelledby": "term-mine" });
  const shared = h("ul", { "aria-labelledby": "term-shared" });
  const ended = h("ul", { "aria-label": "Ended sessions" });
  const endedCount = h("span", { text: "Ended" });
  const endedBox = h("details", { class: "term-ended", hidden: true }, h("summary", {}, endedCount), ended);
  const element = h(
    "div",
    { class: "term-sessions" },
    h("h2", { id: "term-mine", text: "My sessions" }),
    mine,
    h("h2", { id: "term-shared", text: "Shared with me" }),
    shared,
    endedBox,
  );

  function item(session, current) {
    const status = statusOf(session, current);
    const isCurrent = current?.id === session.id;
    const owner = session.owner_id !== user.id
      ? h("span", { class: "term-owner", "data-owner": session.owner_id, text: "from …" })
      : null;
    if (owner) nameOf(session.owner_id).then((name) => (owner.textContent = `from ${name || "a user who is gone"}`));
    const meta = h(
      "span",
      { class: "term-item-meta" },
      h("span", { class: `term-dot state-${isCurrent && current.state === "attached" ? "here" : session.status}`, "aria-hidden": "true" }),
      h("span", { class: "term-status", text: status }),
      owner ? [" · ", owner] : [" · ", targetOf(session)],
    );
    const label = [h("span", { class: "term-item-title", text: titleOf(session) }), meta];
    const control = isEnded(session)
      ? h("a", { class: "item", href: replayAt(session.id), title: `Replay (${when(session.created_at)})` }, ...label)
      : h("button", { type: "button", class: "item", "aria-current": isCurrent ? "true" : false, onclick: () => pick(session) }, ...label);
    return h("li", { "data-session": session.id, class: "term-item" }, control);
  }

  function render(sessions, current) {
    // A refresh keeps the keyboard's place.
    const focused = element.contains(document.activeElement)
      ? document.activeElement.closest("[data-session]")?.dataset.session
      : null;
    const live = sessions.filter((s) => !isEnded(s));
    const gone = sessions.filter(isEnded);
    const own = live.filter((s) => s.owner_id === user.id);
    const others = live.filter((s) => s.owner_id !== user.id);
    mine.replaceChildren(...(own.length ? own.map((s) => item(s, current)) : [h("li", { class: "muted term-none", text: "None running." })]));
    shared.replaceChildren(...(others.length ? others.map((s) => item(s, current)) : [h("li", { class: "muted term-none", text: "Nothing shared with you." })]));
    ended.replaceChildren(...gone.map((s) => item(s, current)));
    endedBox.hidden = !gone.length;
    endedCount.textContent = `Ended (${gone.length})`;
    if (focused) element.querySelector(`[data-session="${focused}"] .item`)?.focus();
  }

  // Where the keyboard lands when it leaves the terminal.
  function focus() {
    const target = element.querySelector(".item[aria-current=true]") || element.querySelector(".item");
    if (target) target.focus();
    return Boolean(target);
  }

  return { element, render, focus };
}

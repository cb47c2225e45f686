// What the Settings and Administration pages share: a page of sections with their
// navigation, forms that keep what was typed and show the server's answer inside
// them, tables that scroll on their own, a copy button and a pager.
import "./panel.css";
import { h, notify, when } from "../dom.js";

// A page of sections, each at `#/base/key`: the heading, the sections' navigation
// and the chosen section's (empty) body.
export function sectioned(main, { title, base, sections, current }) {
  const chosen = sections.find((s) => s.key === current) || sections[0];
  const body = h("section", { class: "panel-body", "aria-labelledby": "section-title" });
  const nav = h(
    "nav",
    { class: "panel-nav", "aria-label": `${title} sections` },
    h("ul", {}, ...sections.map((s) =>
      h("li", {}, h("a", { href: `#/${base}/${s.key}`, "aria-current": s === chosen ? "page" : null, text: s.title })))),
  );
  main.append(h("div", { class: "page panel" }, h("h1", { text: title }), nav, body));
  return { chosen, body };
}

// A section's heading with a line about it and its actions (buttons, links) beside it.
export function heading(title, about, ...actions) {
  return h(
    "header",
    { class: "section-head" },
    h("div", { class: "grow" }, h("h2", { id: "section-title", text: title }), about ? h("p", { class: "muted", text: about }) : null),
    actions.length ? h("div", { class: "row" }, ...actions) : null,
  );
}

// A link that looks like a button.
export function linkButton(href, text, { primary = false, label, extra = "" } = {}) {
  return h("a", { href, class: `button${primary ? " primary" : ""}${extra ? ` ${extra}` : ""}`, text, "aria-label": label });
}

// The server's message, with what it says about each field when it says more.
export function explain(error) {
  const message = error?.message || String(error);
  const details = Array.isArray(error?.body?.details) ? error.body.details : [];
  const more = [];
  for (const detail of details) {
    const msg = typeof detail?.msg === "string" ? detail.msg : "";
    if (!msg || message.includes(msg)) continue;
    const where = (detail.loc || []).filter((part) => part !== "body").join(".");
    more.push(where ? `${where}: ${msg}` : msg);
  }
  const text = more.length ? `${message} (${more.join("; ")})` : message;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// The named controls' values: checkboxes as booleans, the rest as strings.
export function values(form) {
  const found = {};
  for (const control of form.elements) {
    if (!control.name || control.disabled) continue;
    found[control.name] = control.type === "checkbox" ? control.checked : control.value;
  }
  return found;
}

// A form whose submission hands its values to `send`. A failure shows the server's
// message inside the form and keeps everything typed; success says `done` (a string, or
// what `send` returned made into one) and, with `reset`, empties the form.
export function form({ label, parts, submit, send, reset = false, done = null, extra = [], danger = false, card = true }) {
  const problem = h("p", { class: "form-error", role: "alert", hidden: true });
  const success = h("p", { class: "form-ok", role: "status" });
  const button = h("button", { type: "submit", class: danger ? "danger" : "primary", text: submit });
  const node = h(
    "form",
    { class: card ? "card form" : "form", "aria-label": label, novalidate: false },
    ...parts,
    problem,
    h("div", { class: "row form-actions" }, button, ...extra, success),
  );
  let busy = false;
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    node.setAttribute("aria-busy", "true");
    problem.hidden = true;
    success.textContent = "";
    try {
      const result = await send(values(node), node);
      if (reset) node.reset();
      const said = typeof done === "function" ? done(result) : done;
      if (said) success.textContent = said;
    } catch (error) {
      fail(node, error);
    } finally {
      busy = false;
      node.removeAttribute("aria-busy");
    }
  });
  return node;
}

// Shows an error inside a form made by `form` (for checks made before sending).
export function fail(node, error) {
  const problem = node.querySelector(".form-error");
  problem.textContent = explain(error);
  problem.hidden = false;
}

// A labelled checkbox with a line about it.
export function checkbox(id, label, { checked = false, about = "" } = {}) {
  return h(
    "div",
    { class: "field check-field" },
    h("label", { class: "check", for: id }, h("input", { id, name: id, type: "checkbox", checked }), label),
    about ? h("p", { class: "muted small", id: `${id}-about`, text: about }) : null,
  );
}

// A field with a hint under it (the control is described by the hint).
export function hinted(fieldNode, hint) {
  const control = fieldNode.querySelector("input, select, textarea");
  const id = `${control.id}-hint`;
  control.setAttribute("aria-describedby", id);
  fieldNode.append(h("p", { class: "muted small", id, text: hint }));
  return fieldNode;
}

// A table in its own sideways scroller, or `empty` (a sentence) when there are no rows.
// columns: [text or {text, class}]; rows: <tr> nodes.
export function table(label, columns, rows, empty) {
  if (!rows.length) return h("p", { class: "card empty", text: empty });
  const heads = columns.map((c) => (typeof c === "string" ? { text: c } : c));
  const interactive = rows.some((row) => row.querySelector("a, button, input, select"));
  return h(
    "div",
    // A scroller with nothing to focus inside must take the focus itself (keyboard scrolling).
    { class: "scroll card flush", role: interactive ? null : "region", tabindex: interactive ? null : "0", "aria-label": interactive ? null : label },
    h(
      "table",
      { "aria-label": label },
      h("thead", {}, h("tr", {}, ...heads.map((c) => h("th", { scope: "col", class: c.class, text: c.text })))),
      h("tbody", {}, ...rows),
    ),
  );
}

// Copies `text()` to the clipboard; where the clipboard is refused, selects `input` so that
// the user copies it by hand.
export function copyButton(text, input, label = "Copy") {
  return h("button", {
    type: "button",
    text: label,
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text());
        notify("Copied to the clipboard");
      } catch {
        input?.focus();
        input?.select();
        if (document.execCommand?.("copy")) notify("Copied to the clipboard");
        else notify("Press Ctrl+C (⌘C) to copy the selected text");
      }
    },
  });
}

// "Showing 21–40 of 95" with Previous and Next links to the same route at other offsets.
export function pager(route, params, page) {
  const { offset, limit, total } = page;
  if (total <= limit && offset === 0) return null;
  const at = (start) => {
    const next = new URLSearchParams(params);
    next.set("offset", String(Math.max(0, start)));
    return `${route}?${next}`;
  };
  const last = Math.min(offset + limit, total);
  return h(
    "nav",
    { class: "row pager", "aria-label": "Pages" },
    offset > 0 ? h("a", { class: "button", href: at(offset - limit), text: "Previous" }) : null,
    h("span", { class: "muted", text: total ? `${offset + 1}–${last} of ${total}` : "none" }),
    last < total ? h("a", { class: "button", href: at(offset + limit), text: "Next" }) : null,
  );
}

export function offsetOf(params) {
  const value = Number.parseInt(params.get("offset") || "0", 10);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

// A one-line status tag: ok, off or danger.
export function tag(text, kind = "") {
  return h("span", { class: `tag ${kind}`.trim(), text });
}

// A short date, with the whole one on hover and for assistive tools.
export function date(iso, empty = "—") {
  if (!iso) return h("span", { class: "muted", text: empty });
  return h("time", { datetime: iso, title: new Date(iso).toString(), text: when(iso) });
}

// Small DOM helpers: elements from tag names, attributes and children.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const ICONS = {
  up: "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6V3a1.5 1.5 0 0 0-.4-1L13 1 6.6 7.4A2 2 0 0 0 6 8.8V19a2 2 0 0 0 2 2h9a2 2 0 0 0 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z",
  down: "M22 3h-4v12h4V3zM2 14a2 2 0 0 0 2 2h6.3l-1 4.6V21c0 .4.2.8.4 1l1.3 1 6.4-6.4c.4-.4.6-.9.6-1.4V5a2 2 0 0 0-2-2H7a2 2 0 0 0-1.8 1.2l-3 7.1c-.1.2-.2.5-.2.7v2z",
};

// A small icon (no icon font: nothing to load, no emoji font needed); its button carries the name.
export function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("fill", "currentColor");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

export function showError(error) {
  const box = document.getElementById("error");
  if (!error) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.replaceChildren(
    h("span", { text: error.message || String(error) }),
    h("button", { type: "button", class: "quiet", "aria-label": "Dismiss", text: "×", onclick: () => showError(null) }),
  );
  box.hidden = false;
}

// A short confirmation that something happened, read out by screen readers.
export function notify(text) {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.classList.add("shown");
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => box.classList.remove("shown"), 4000);
}

export function bytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

// A labelled form field: [label, control]; `options` makes a select.
export function field(id, label, attrs = {}) {
  const { options, ...rest } = attrs;
  const control = options
    ? h("select", { id, name: id, ...rest }, ...options.map((o) =>
        typeof o === "string" ? h("option", { value: o, text: o }) : h("option", { value: o.value, text: o.label })))
    : h(rest.rows ? "textarea" : "input", { id, name: id, ...rest });
  return h("div", { class: "field" }, h("label", { for: id, text: label }), control);
}

// A modal dialog (the native one: focus is trapped and Escape closes it). Resolves
// with the value of the button pressed, or null when dismissed.
export function modal(title, body, buttons = [{ value: "ok", text: "OK", primary: true }]) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-label": title },
      h("h2", { text: title }),
      h("div", { class: "dialog-body" }, body),
      h("form", { method: "dialog", class: "row end" }, ...buttons.map((b) =>
        h("button", { value: b.value, class: b.primary ? "primary" : b.danger ? "danger" : "", text: b.text }))),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue && dialog.returnValue !== "cancel" ? dialog.returnValue : null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export async function confirmed(question, action = "Delete") {
  const answer = await modal(question, null, [
    { value: "cancel", text: "Cancel" },
    { value: "yes", text: action, danger: true },
  ]);
  return answer === "yes";
}

// Runs `work`, showing its error instead of throwing.
export async function attempt(work) {
  try {
    return await work();
  } catch (error) {
    showError(error);
    return undefined;
  }
}

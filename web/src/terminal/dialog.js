// Dialogs of the terminal page: a form that stays open until its work succeeds (its
// error shown inside, nothing typed lost), and a choice with a role of its own.
import { h } from "../dom.js";

let made = 0;

// What went wrong, in the server's words; a 422 names the fields it refused.
export function explain(error) {
  const details = Array.isArray(error?.body?.details) ? error.body.details : [];
  const fields = details
    .filter((d) => Array.isArray(d?.loc) && d.msg)
    .map((d) => `${d.loc.filter((p) => p !== "body" && p !== "target").join(".")}: ${d.msg}`);
  return [error?.message || String(error), ...fields].join("\n");
}

// The controls a 422 refused (by name), marked for assistive technology.
function markInvalid(form, error) {
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  const details = Array.isArray(error?.body?.details) ? error.body.details : [];
  for (const d of details) {
    const name = Array.isArray(d?.loc) ? d.loc.filter((p) => typeof p === "string").at(-1) : null;
    const control = name ? form.elements.namedItem(name) : null;
    if (control instanceof Element) control.setAttribute("aria-invalid", "true");
  }
}

// A modal form: `work()` runs on submit; what it returns (not undefined) closes the
// dialog with that value; what it throws is shown and the dialog stays as it was.
export function formDialog({ title, body, submit, busy = "Working…", work, cancel = "Cancel", className = "" }) {
  const id = `term-dialog-${++made}`;
  const problem = h("p", { class: "term-problem", role: "alert", hidden: true });
  const go = h("button", { type: "submit", class: "primary", text: submit });
  const form = h(
    "form",
    { class: "term-form", novalidate: false },
    body,
    problem,
    h("div", { class: "row end" }, h("button", { type: "button", text: cancel, onclick: () => dialog.close() }), go),
  );
  const dialog = h("dialog", { class: `term-dialog ${className}`, "aria-labelledby": id }, h("h2", { id, text: title }), form);
  let settle = null;
  let result = null;
  let running = false;

  function fail(error) {
    problem.textContent = explain(error);
    problem.hidden = false;
    markInvalid(form, error);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (running) return;
    running = true;
    go.disabled = true;
    go.textContent = busy;
    problem.hidden = true;
    try {
      const value = await work();
      if (value !== undefined) {
        result = value;
        dialog.close();
      }
    } catch (error) {
      fail(error);
    } finally {
      running = false;
      go.disabled = false;
      go.textContent = submit;
    }
  });
  dialog.addEventListener("close", () => {
    const done = settle;
    settle = null;
    done?.(result);
  });

  return {
    dialog,
    form,
    fail,
    // Resolves with the work's value, or null when cancelled.
    open(focus) {
      result = null;
      problem.hidden = true;
      return new Promise((resolve) => {
        settle = resolve;
        if (!dialog.isConnected) document.body.append(dialog);
        dialog.showModal();
        focus?.focus();
      });
    },
    remove() {
      if (dialog.open) dialog.close();
      dialog.remove();
    },
  };
}

// A choice: resolves with the value of the button pressed, or null when dismissed.
// `role: "alertdialog"` for a warning that must be read.
export function choose(title, body, buttons, { role, className = "" } = {}) {
  const id = `term-dialog-${++made}`;
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: `term-dialog ${className}`, role, "aria-labelledby": id },
      h("h2", { id, text: title }),
      h("div", { class: "dialog-body" }, body),
      h("form", { method: "dialog", class: "row end" }, ...buttons.map((b) =>
        h("button", { value: b.value, class: b.primary ? "primary" : b.danger ? "danger" : "", text: b.text, autofocus: b.focus || false }))),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue && dialog.returnValue !== "cancel" ? dialog.returnValue : null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

import * as api from "../api.js";
import { h, showError } from "../dom.js";

export function loginPage(main, done) {
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const form = h(
    "form",
    { class: "card login", "aria-label": "Log in" },
    h("h1", { text: "Log in to AISS" }),
    h("label", { for: "username", text: "Username" }),
    username,
    h("label", { for: "password", text: "Password" }),
    password,
    h("button", { type: "submit", text: "Log in" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(null);
    try {
      await api.login(username.value, password.value);
      done();
    } catch (error) {
      showError(error);
      password.select();
    }
  });
  main.append(form);
  username.focus();
}

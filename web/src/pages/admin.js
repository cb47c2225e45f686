import * as api from "../api.js";
import { h, showError } from "../dom.js";

function table(label, headings, rows) {
  return h(
    "table",
    { class: "card", "aria-label": label },
    h("caption", { text: label }),
    h("thead", {}, h("tr", {}, ...headings.map((t) => h("th", { text: t })))),
    h("tbody", {}, ...rows),
  );
}

// Users, areas, LLM providers and every terminal session (administrators).
export async function adminPage(main) {
  const [users, areas, providers, sessions] = await Promise.all([
    api.call("GET", "/users?limit=100"),
    api.call("GET", "/areas?limit=100"),
    api.call("GET", "/llm/providers"),
    api.call("GET", "/terminal/sessions?all=true&limit=100"),
  ]);
  const username = h("input", { id: "new-username", required: true, autocomplete: "off" });
  const email = h("input", { id: "new-email", type: "email", required: true });
  const password = h("input", { id: "new-password", type: "password", required: true, autocomplete: "new-password" });
  const create = h(
    "form",
    { class: "card", "aria-label": "Create a user" },
    h("h1", { text: "Administration" }),
    h("label", { for: "new-username", text: "Username" }),
    username,
    h("label", { for: "new-email", text: "Email" }),
    email,
    h("label", { for: "new-password", text: "Password" }),
    password,
    h("button", { type: "submit", text: "Create user" }),
  );
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.call("POST", "/users", {
        json: { username: username.value, email: email.value, password: password.value },
      });
      location.reload();
    } catch (error) {
      showError(error);
    }
  });
  main.append(
    create,
    table("Users", ["Username", "Email", "Role", "Active"], users.items.map((u) =>
      h("tr", {}, h("td", { text: u.username }), h("td", { text: u.email }), h("td", { text: u.role }), h("td", { text: u.active ? "yes" : "no" })),
    )),
    table("Areas", ["Name", "Description", "Active"], areas.items.map((a) =>
      h("tr", {}, h("td", { text: a.name }), h("td", { text: a.description }), h("td", { text: a.active ? "yes" : "no" })),
    )),
    table("LLM providers", ["Name", "Type", "Model", "Default", "Key"], providers.items.map((p) =>
      h("tr", {}, h("td", { text: p.name }), h("td", { text: p.type }), h("td", { text: p.model }), h("td", { text: p.is_default ? "yes" : "" }), h("td", { text: p.has_api_key ? `…${p.api_key_last4 || ""}` : "" })),
    )),
    table("Terminal sessions", ["Session", "Owner", "Status", "Target"], sessions.items.map((s) =>
      h("tr", {}, h("td", { text: s.title || s.id }), h("td", { text: s.owner_id }), h("td", { text: s.status }), h("td", { text: s.target.host || s.target.type })),
    )),
  );
}

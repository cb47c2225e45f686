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

function field(id, label, attrs = {}) {
  const input = h(attrs.options ? "select" : "input", { id, name: id, ...attrs, options: null },
    ...(attrs.options || []).map((o) => h("option", { value: o, text: o })));
  return [h("label", { for: id, text: label }), input];
}

// One small form: its fields' values go to `send`, then the page reloads its data.
function form(label, fields, button, send, reload) {
  const node = h("form", { class: "card", "aria-label": label }, h("h2", { text: label }), ...fields.flat(),
    h("button", { type: "submit", text: button }));
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(node).entries());
    try {
      await send(values);
      node.reset();
      await reload();
    } catch (error) {
      showError(error);
    }
  });
  return node;
}

function action(text, run, reload) {
  return h("button", {
    type: "button",
    text,
    onclick: async () => {
      if (!confirm(`${text}?`)) return;
      try {
        await run();
        await reload();
      } catch (error) {
        showError(error);
      }
    },
  });
}

// Users, areas, LLM providers and every terminal session (administrators).
export async function adminPage(main) {
  const lists = h("div");
  async function reload() {
    const [users, areas, providers, sessions] = await Promise.all([
      api.call("GET", "/users?limit=100"),
      api.call("GET", "/areas?limit=100"),
      api.call("GET", "/llm/providers"),
      api.call("GET", "/terminal/sessions?all=true&limit=100"),
    ]);
    lists.replaceChildren(
      table("Users", ["Username", "Email", "Role", "Active"], users.items.map((u) =>
        h("tr", {}, h("td", { text: u.username }), h("td", { text: u.email }), h("td", { text: u.role }),
          h("td", { text: u.active ? "yes" : "no" })))),
      table("Areas", ["Name", "Description", "Active", ""], areas.items.map((a) =>
        h("tr", {}, h("td", { text: a.name }), h("td", { text: a.description }), h("td", { text: a.active ? "yes" : "no" }),
          h("td", {}, action(`Delete area ${a.name}`, () => api.call("DELETE", `/areas/${a.id}`), reload))))),
      table("LLM providers", ["Name", "Type", "Model", "Default", "Key", ""], providers.items.map((p) =>
        h("tr", {}, h("td", { text: p.name }), h("td", { text: p.type }), h("td", { text: p.model }),
          h("td", { text: p.is_default ? "yes" : "" }), h("td", { text: p.has_api_key ? `…${p.api_key_last4 || ""}` : "" }),
          h("td", { class: "actions" },
            h("button", { type: "button", text: "Test", onclick: async () => {
              const result = await api.call("POST", `/llm/providers/${p.id}/test`).catch((e) => ({ ok: false, error: e.message }));
              showError(result.ok ? null : new Error(`${p.name}: ${result.error}`));
              if (result.ok) alert(`${p.name} answered in ${result.latency_ms} ms`);
            } }),
            action(`Delete provider ${p.name}`, () => api.call("DELETE", `/llm/providers/${p.id}`), reload))))),
      table("Terminal sessions", ["Session", "Owner", "Status", "Target", ""], sessions.items.map((s) =>
        h("tr", {}, h("td", { text: s.title || s.id }), h("td", { text: s.owner_id }), h("td", { text: s.status }),
          h("td", { text: s.target.host || s.target.type }),
          h("td", {}, s.status === "closed" || s.status === "failed" ? null
            : action(`Terminate ${s.title || s.id}`, () => api.call("DELETE", `/terminal/sessions/${s.id}`), reload))))),
    );
  }
  main.append(
    h("h1", { text: "Administration" }),
    h("div", { class: "forms" },
      form("Create a user", [field("new-username", "Username", { required: true, autocomplete: "off" }),
        field("new-email", "Email", { type: "email", required: true }),
        field("new-password", "Password", { type: "password", required: true, autocomplete: "new-password" })],
        "Create user",
        (v) => api.call("POST", "/users", { json: { username: v["new-username"], email: v["new-email"], password: v["new-password"] } }),
        reload),
      form("Create an area", [field("area-name", "Name", { required: true }), field("area-description", "Description")],
        "Create area",
        (v) => api.call("POST", "/areas", { json: { name: v["area-name"], description: v["area-description"] } }),
        reload),
      form("Add an LLM provider", [field("llm-name", "Name", { required: true }),
        field("llm-type", "Type", { options: ["openai", "anthropic", "ollama", "azure_openai", "openai_compatible"] }),
        field("llm-model", "Model", { required: true }), field("llm-base", "API base (optional)", { type: "url" }),
        field("llm-key", "API key (optional)", { type: "password", autocomplete: "off" })],
        "Add provider",
        (v) => api.call("POST", "/llm/providers", { json: {
          name: v["llm-name"], type: v["llm-type"], model: v["llm-model"],
          api_base: v["llm-base"] || "", api_key: v["llm-key"] || null } }),
        reload),
    ),
    lists,
  );
  await reload();
}

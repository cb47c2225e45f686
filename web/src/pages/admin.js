import * as api from "../api.js";
import { attempt, confirmed, field, h, notify } from "../dom.js";
import {
  checkbox, date, form, heading, hinted, linkButton, offsetOf, pager, sectioned, table, tag,
} from "./forms.js";
import "./admin.css";

const SECTIONS = [
  { key: "users", title: "Users", render: usersSection },
  { key: "areas", title: "Areas", render: areasSection },
  { key: "llm", title: "LLM providers", render: llmSection },
  { key: "feedback", title: "Feedback", render: feedbackSection },
  { key: "sessions", title: "Terminal sessions", render: sessionsSection },
];
const USERNAME = "[A-Za-z0-9][A-Za-z0-9._\\-]{1,63}";
const KINDS = [
  { value: "openai", label: "OpenAI" },
  { value: "anthropic", label: "Anthropic" },
  { value: "ollama", label: "Ollama" },
  { value: "azure_openai", label: "Azure OpenAI" },
  { value: "openai_compatible", label: "OpenAI-compatible server" },
];
const ACCESS = [
  { value: "none", label: "No access" },
  { value: "read", label: "Read" },
  { value: "write", label: "Read and write" },
];
const LIVE = new Set(["connecting", "connected", "detached"]);

// Users, areas, LLM providers, the feedback on answers and every terminal session:
// one section at a time, `#/admin/section[/id]`.
export async function adminPage(main, { user, args, params }) {
  if (user.role !== "admin") {
    main.append(h(
      "div",
      { class: "page" },
      h("h1", { text: "Administration" }),
      h(
        "div",
        { class: "card only-admins" },
        h("h2", { text: "For administrators only" }),
        h("p", { text: `You are logged in as ${user.username}, who has the user role. Users, areas, LLM providers and everyone's terminal sessions are managed by administrators.` }),
        h("p", {}, "Ask an administrator if you need access to an area. ", h("a", { href: "#/settings", text: "Your own settings" }), " are yours to change."),
      ),
    ));
    return undefined;
  }
  const { chosen, body } = sectioned(main, { title: "Administration", base: "admin", sections: SECTIONS, current: args[0] });
  return chosen.render(body, { me: user, id: args[1], params });
}

function back(href, text) {
  return h("a", { class: "back", href, text: `← ${text}` });
}

async function usernames() {
  const page = await api.call("GET", "/users?limit=500");
  return new Map(page.items.map((u) => [u.id, u.username]));
}

function removeButton(text, label, question, action, remove) {
  return h("button", {
    type: "button",
    class: "danger",
    text,
    "aria-label": label,
    onclick: () => attempt(async () => {
      if (!(await confirmed(question, action))) return;
      await remove();
    }),
  });
}

// -- Users ----------------------------------------------------------------------------

async function usersSection(body, { me, id }) {
  if (id === "new") return newUser(body);
  if (id) return oneUser(body, id, me);
  const list = h("div", { class: "list" });
  const search = h("input", { id: "user-filter", type: "search", placeholder: "Name or email", autocomplete: "off" });
  const count = h("span", { class: "muted", "aria-live": "polite" });
  async function refresh() {
    const page = await api.call("GET", "/users?limit=500");
    const rows = page.items.map((u) => h(
      "tr",
      { "data-id": u.id, "data-search": `${u.username} ${u.email}`.toLowerCase() },
      h("th", { scope: "row" }, h("a", { href: `#/admin/users/${u.id}`, text: u.username }), u.id === me.id ? tag("you", "accent") : null),
      h("td", { class: "hide-narrow", text: u.email }),
      h("td", {}, u.role === "admin" ? tag("admin", "accent") : tag("user")),
      h("td", {}, u.active ? tag("active", "ok") : tag("deactivated", "off")),
      h("td", { class: "hide-narrow" }, u.role === "admin"
        ? h("span", { class: "muted", text: "all" })
        : h("span", { text: u.permissions.length ? `${u.permissions.length}` : "none" })),
      h("td", { class: "hide-narrow" }, date(u.created_at)),
      h("td", { class: "actions" },
        linkButton(`#/admin/users/${u.id}`, "Edit", { label: `Edit ${u.username}`, extra: "wide-only" }),
        u.id === me.id ? null : removeButton("Delete", `Delete ${u.username}`,
          `Delete the user ${u.username}? Their API keys, SSH keys and tokens go with them.`, "Delete", async () => {
            await api.call("DELETE", `/users/${u.id}`);
            notify(`${u.username} deleted`);
            await refresh();
          })),
    ));
    list.replaceChildren(table("Users", ["Username", { text: "Email", class: "hide-narrow" }, "Role", "Status",
      { text: "Areas", class: "hide-narrow" }, { text: "Created", class: "hide-narrow" }, { text: "", class: "actions" }],
    rows, "No users."));
    count.textContent = `${page.total} ${page.total === 1 ? "user" : "users"}`;
    filter();
  }
  function filter() {
    const words = search.value.trim().toLowerCase();
    for (const row of list.querySelectorAll("tbody tr")) row.hidden = Boolean(words) && !row.dataset.search.includes(words);
  }
  search.addEventListener("input", filter);
  body.append(
    heading("Users", "Who may log in, their role, and the areas they may read or write.",
      linkButton("#/admin/users/new", "New user", { primary: true })),
    h("div", { class: "row toolbar" }, h("label", { for: "user-filter", text: "Find" }), search, count),
    list,
  );
  await refresh();
  return undefined;
}

function newUser(body) {
  body.append(
    h("div", {}, back("#/admin/users", "Users"), heading("New user", "They log in with this username and password; they can change the password in their settings.")),
    form({
      label: "New user",
      parts: [h("div", { class: "fields" },
        hinted(field("new-username", "Username", { required: true, autocomplete: "off", pattern: USERNAME, maxlength: 64,
          title: "2 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit" }),
        "Letters, digits, dots, dashes and underscores."),
        field("new-email", "Email", { type: "email", required: true, autocomplete: "off", maxlength: 320 }),
        hinted(field("new-password", "Password", { type: "password", required: true, autocomplete: "new-password" }),
          "At least 12 characters of three kinds (lower case, upper case, digits, others), or 20 of any kind."),
        field("new-role", "Role", { options: [{ value: "user", label: "User" }, { value: "admin", label: "Administrator" }] }),
      )],
      submit: "Create user",
      send: async (v) => {
        const created = await api.call("POST", "/users", { json: {
          username: v["new-username"].trim(), email: v["new-email"].trim(), password: v["new-password"], role: v["new-role"],
        } });
        notify(`${created.username} created`);
        location.hash = `#/admin/users/${created.id}`;
      },
    }),
  );
  body.querySelector("#new-username").focus();
}

async function oneUser(body, id, me) {
  const [found, areas] = await Promise.all([api.call("GET", `/users/${id}`), api.call("GET", "/areas?limit=500")]);
  let user = found;
  const self = user.id === me.id;
  const title = h("h2", { id: "section-title", text: user.username });
  const about = h("p", { class: "muted" });
  function describe() {
    about.replaceChildren(`${user.email} · `, user.role === "admin" ? "administrator" : "user", " · ",
      user.active ? "active" : "deactivated", " · since ", date(user.created_at));
  }
  describe();

  const account = form({
    label: "Account",
    parts: [
      h("h3", { text: "Account" }),
      self ? h("p", { class: "muted small", text: "This is your own account: a role change or deactivation logs you out." }) : null,
      h("div", { class: "fields" },
        field("user-email", "Email", { type: "email", required: true, value: user.email, maxlength: 320 }),
        field("user-role", "Role", { options: [{ value: "user", label: "User" }, { value: "admin", label: "Administrator" }] }),
      ),
      checkbox("user-active", "Active", { checked: user.active, about: "A deactivated user cannot log in. A role change or deactivation logs the user out everywhere at once." }),
    ],
    submit: "Save",
    done: () => "Saved.",
    send: async (v) => {
      const change = {};
      if (v["user-email"].trim() !== user.email) change.email = v["user-email"].trim();
      if (v["user-role"] !== user.role) change.role = v["user-role"];
      if (v["user-active"] !== user.active) change.active = v["user-active"];
      if (!Object.keys(change).length) return;
      user = await api.call("PUT", `/users/${id}`, { json: change });
      if (self && (change.role || change.active === false)) {
        location.reload(); // this session's tokens were just revoked: log in again
        return;
      }
      describe();
      notify(`${user.username} saved`);
    },
  });
  account.querySelector("#user-role").value = user.role;

  body.append(h("div", {}, back("#/admin/users", "Users"), h("header", { class: "section-head" }, h("div", { class: "grow" }, title, about))),
    account, permissionsForm(id, () => user, (u) => { user = u; }, areas.items));

  if (!self) {
    body.append(form({
      label: "Delete this user",
      parts: [h("h3", { text: "Delete this user" }), h("p", { class: "muted small", text: "Their API keys, SSH keys and tokens are deleted with them. This cannot be undone." })],
      submit: "Delete user",
      danger: true,
      send: async () => {
        if (!(await confirmed(`Delete the user ${user.username}?`))) return;
        await api.call("DELETE", `/users/${id}`);
        notify(`${user.username} deleted`);
        location.hash = "#/admin/users";
      },
    }));
    body.lastElementChild.classList.add("danger-zone");
  }
}

function permissionsForm(id, current, update, areas) {
  const level = (areaId) => {
    const found = current().permissions.find((p) => p.area_id === areaId);
    return !found ? "none" : found.write ? "write" : "read";
  };
  if (!areas.length) {
    return h("div", { class: "card" }, h("h3", { text: "Area permissions" }),
      h("p", { class: "muted" }, "No areas yet. ", h("a", { href: "#/admin/areas/new", text: "Create an area" }), " to grant access to it."));
  }
  const rows = areas.map((a) => {
    const select = h("select", { id: `access-${a.id}`, name: `access-${a.id}`, "aria-label": `Access to ${a.name}` },
      ...ACCESS.map((o) => h("option", { value: o.value, text: o.label })));
    select.value = level(a.id);
    return h("tr", {}, h("th", { scope: "row" }, a.name, a.active ? null : tag("inactive", "off")),
      h("td", { class: "hide-narrow muted", text: a.description }), h("td", {}, select));
  });
  return form({
    label: "Area permissions",
    parts: [
      h("h3", { text: "Area permissions" }),
      current().role === "admin"
        ? h("p", { class: "muted small", text: "Administrators read and write every area; these apply if the role becomes user." })
        : h("p", { class: "muted small", text: "What this user may read (ask about, see) and write (upload to) in each area." }),
      table("Area permissions", ["Area", { text: "Description", class: "hide-narrow" }, "Access"], rows, ""),
    ],
    submit: "Save permissions",
    done: (n) => (n ? "Permissions saved." : "Nothing to change."),
    send: async (v) => {
      let changed = 0;
      for (const a of areas) {
        const wanted = v[`access-${a.id}`];
        if (wanted === level(a.id)) continue;
        update(await api.call("PUT", `/users/${id}/permissions`, {
          json: { area_id: a.id, read: wanted !== "none", write: wanted === "write" },
        }));
        changed += 1;
      }
      return changed;
    },
  });
}

// -- Areas ----------------------------------------------------------------------------

async function areasSection(body, { id }) {
  if (id === "new") return newArea(body);
  if (id) return oneArea(body, id);
  const list = h("div", { class: "list" });
  async function refresh() {
    const page = await api.call("GET", "/areas?limit=500");
    list.replaceChildren(table(
      "Areas",
      ["Name", { text: "Description", class: "hide-narrow" }, { text: "Tags", class: "hide-narrow" }, "Status",
        { text: "Changed", class: "hide-narrow" }, { text: "", class: "actions" }],
      page.items.map((a) => h(
        "tr",
        { "data-id": a.id },
        h("th", { scope: "row" }, h("a", { href: `#/admin/areas/${a.id}`, text: a.name })),
        h("td", { class: "hide-narrow description", text: a.description }),
        h("td", { class: "hide-narrow" }, ...a.tags.map((t) => tag(t))),
        h("td", {}, a.active ? tag("active", "ok") : tag("inactive", "off")),
        h("td", { class: "hide-narrow" }, date(a.updated_at)),
        h("td", { class: "actions" },
          linkButton(`#/admin/areas/${a.id}`, "Edit", { label: `Edit ${a.name}`, extra: "wide-only" }),
          removeButton("Delete", `Delete ${a.name}`, `Delete the area ${a.name}? Only an empty area can be deleted.`, "Delete", async () => {
            await api.call("DELETE", `/areas/${a.id}`);
            notify(`${a.name} deleted`);
            await refresh();
          })),
      )),
      "No areas yet. An area groups shared documents, who may read them, and how questions about them are answered.",
    ));
  }
  body.append(
    heading("Areas", "Knowledge areas: shared documents, who may read them, and how answers about them are written.",
      linkButton("#/admin/areas/new", "New area", { primary: true })),
    list,
  );
  await refresh();
  return undefined;
}

function tagsOf(text) {
  return text.split(",").map((t) => t.trim()).filter(Boolean);
}

function areaFields(area = { name: "", description: "", tags: [] }) {
  return h("div", { class: "fields" },
    field("area-name", "Name", { required: true, maxlength: 100, value: area.name, autocomplete: "off" }),
    hinted(field("area-tags", "Tags", { value: area.tags.join(", "), autocomplete: "off" }), "Separated by commas."),
    h("div", { class: "wide" }, field("area-description", "Description", { rows: 3, maxlength: 2000 })),
  );
}

function newArea(body) {
  const fields = areaFields();
  body.append(
    h("div", {}, back("#/admin/areas", "Areas"), heading("New area", "You set its system prompt and model once it exists.")),
    form({
      label: "New area",
      parts: [fields],
      submit: "Create area",
      send: async (v) => {
        const created = await api.call("POST", "/areas", { json: {
          name: v["area-name"].trim(), description: v["area-description"], tags: tagsOf(v["area-tags"]),
        } });
        notify(`${created.name} created`);
        location.hash = `#/admin/areas/${created.id}`;
      },
    }),
  );
  body.querySelector("#area-name").focus();
}

async function oneArea(body, id) {
  const [found, prompt, primary, providers, global] = await Promise.all([
    api.call("GET", `/areas/${id}`),
    api.call("GET", `/areas/${id}/system-prompt`),
    api.call("GET", `/areas/${id}/primary-llm`),
    api.call("GET", "/llm/providers"),
    api.call("GET", "/llm/settings"),
  ]);
  let area = found;
  const title = h("h2", { id: "section-title", text: area.name });
  const fields = areaFields(area);
  fields.querySelector("#area-description").value = area.description;
  const details = form({
    label: "Details",
    parts: [h("h3", { text: "Details" }), fields,
      checkbox("area-active", "Active", { checked: area.active, about: "An inactive area keeps its documents but is left out of answers." })],
    submit: "Save",
    done: () => "Saved.",
    send: async (v) => {
      area = await api.call("PUT", `/areas/${id}`, { json: {
        name: v["area-name"].trim(), description: v["area-description"], tags: tagsOf(v["area-tags"]), active: v["area-active"],
      } });
      title.textContent = area.name;
    },
  });

  const promptField = field("area-prompt", "System prompt", { rows: 10, maxlength: 20000, placeholder: global.system_prompt });
  promptField.querySelector("textarea").value = prompt.system_prompt;
  const system = form({
    label: "System prompt",
    parts: [
      h("h3", { text: "System prompt" }),
      h("p", { class: "muted small", text: "What the model is told before every question about this area. Empty: the global prompt (shown greyed) is used." }),
      promptField,
    ],
    submit: "Save prompt",
    done: (saved) => (saved.system_prompt ? "System prompt saved." : "Saved: the global prompt is used."),
    send: (v) => api.call("PUT", `/areas/${id}/system-prompt`, { json: { system_prompt: v["area-prompt"] } }),
  });

  const fallback = providers.items.find((p) => p.is_default);
  const choices = [
    { value: "", label: fallback ? `The default provider (${fallback.name})` : "The default provider" },
    ...providers.items.map((p) => ({ value: p.id, label: `${p.name} · ${p.model}` })),
  ];
  const choose = field("area-llm", "Primary LLM", { options: choices });
  choose.querySelector("select").value = primary.provider_id;
  const model = form({
    label: "Primary LLM",
    parts: [
      h("h3", { text: "Primary LLM" }),
      h("p", { class: "muted small" }, providers.items.length
        ? "Answers about this area try this provider first, then the default, then the others."
        : "No LLM provider yet: answers quote the best sentences of the sources. ",
      providers.items.length ? null : h("a", { href: "#/admin/llm/new", text: "Add a provider" })),
      choose,
    ],
    submit: "Save",
    done: () => "Saved.",
    send: (v) => api.call("PUT", `/areas/${id}/primary-llm`, { json: { provider_id: v["area-llm"] } }),
  });

  const remove = form({
    label: "Delete this area",
    parts: [h("h3", { text: "Delete this area" }), h("p", { class: "muted small", text: "Only an empty area can be deleted: delete or move its documents first." })],
    submit: "Delete area",
    danger: true,
    send: async () => {
      if (!(await confirmed(`Delete the area ${area.name}?`))) return;
      await api.call("DELETE", `/areas/${id}`);
      notify(`${area.name} deleted`);
      location.hash = "#/admin/areas";
    },
  });
  remove.classList.add("danger-zone");
  body.append(
    h("div", {}, back("#/admin/areas", "Areas"), h("header", { class: "section-head" },
      h("div", { class: "grow" }, title, h("p", { class: "muted" }, "Created ", date(area.created_at))))),
    details, system, model, remove,
  );
}

// -- LLM providers --------------------------------------------------------------------

function kindName(value) {
  return KINDS.find((k) => k.value === value)?.label || value;
}

// Sends the provider a tiny request and says, in `where`, how long it took or why it failed.
async function test(provider, where, button) {
  button.setAttribute("aria-busy", "true");
  where.replaceChildren(h("span", { class: "muted", text: `Testing ${provider.name}…` }));
  try {
    const result = await api.call("POST", `/llm/providers/${provider.id}/test`);
    where.replaceChildren(result.ok
      ? h("span", { class: "test-ok" }, h("strong", { text: "Works: " }),
        `${provider.name} answered in ${Math.round(result.latency_ms)} ms`,
        result.first_token_ms ? ` (first token after ${Math.round(result.first_token_ms)} ms)` : "",
        result.reply ? `: “${result.reply.trim()}”` : "")
      : h("span", { class: "test-failed" }, h("strong", { text: "Failed: " }),
        `${provider.name} did not answer (after ${Math.round(result.latency_ms)} ms): `, h("span", { class: "reason", text: result.error || "no reason given" })));
  } catch (error) {
    where.replaceChildren(h("span", { class: "test-failed" }, h("strong", { text: "Failed: " }), error.message));
  } finally {
    button.removeAttribute("aria-busy");
  }
}

async function llmSection(body, { id }) {
  if (id) return oneProvider(body, id === "new" ? null : id);
  const list = h("div", { class: "list" });
  async function refresh() {
    const { items } = await api.call("GET", "/llm/providers");
    const rows = [];
    for (const p of items) {
      const result = h("div", { class: "test-result", role: "status" });
      const resultRow = h("tr", { class: "result-row" }, h("td", { colspan: "7" }, result));
      const tester = h("button", { type: "button", text: "Test", "aria-label": `Test ${p.name}`,
        onclick: () => test(p, result, tester) });
      rows.push(h(
        "tr",
        { "data-id": p.id, class: "provider" },
        h("th", { scope: "row" }, h("a", { href: `#/admin/llm/${p.id}`, text: p.name }), p.is_default ? tag("default", "accent") : null),
        h("td", { class: "hide-narrow nowrap", text: kindName(p.type) }),
        h("td", {}, h("code", { text: p.model })),
        h("td", { class: "hide-narrow" }, p.api_base ? h("code", { class: "endpoint", text: p.api_base }) : h("span", { class: "muted", text: "the vendor's" })),
        h("td", { class: "hide-narrow" }, p.has_api_key ? h("code", { text: p.api_key_last4 ? `…${p.api_key_last4}` : "set" }) : h("span", { class: "muted", text: "none" })),
        h("td", { class: "hide-narrow num nowrap" }, p.hourly_cap ? `${p.hourly_cap}/h` : h("span", { class: "muted", text: "none" })),
        h("td", { class: "actions" },
          tester,
          p.is_default ? null : h("button", { type: "button", text: "Make default", "aria-label": `Make default: ${p.name}`,
            onclick: () => attempt(async () => {
              await api.call("PUT", `/llm/providers/${p.id}`, { json: { is_default: true } });
              notify(`${p.name} is the default`);
              await refresh();
            }) }),
          linkButton(`#/admin/llm/${p.id}`, "Edit", { label: `Edit ${p.name}`, extra: "wide-only" }),
          removeButton("Delete", `Delete ${p.name}`, `Delete the LLM provider ${p.name}? Areas that chose it fall back to the default.`, "Delete", async () => {
            await api.call("DELETE", `/llm/providers/${p.id}`);
            notify(`${p.name} deleted`);
            await refresh();
          })),
      ), resultRow);
    }
    list.replaceChildren(table("LLM providers", ["Name", { text: "Type", class: "hide-narrow" }, "Model",
      { text: "Endpoint", class: "hide-narrow" }, { text: "API key", class: "hide-narrow" }, { text: "Cap", class: "hide-narrow num" },
      { text: "", class: "actions" }], rows,
    "No LLM providers: answers quote the best sentences of their sources. Add one to have answers written by a model."));
  }
  const global = await api.call("GET", "/llm/settings");
  const promptField = field("global-prompt", "Global system prompt", { rows: 8, maxlength: 20000 });
  const textarea = promptField.querySelector("textarea");
  textarea.value = global.system_prompt;
  const restore = h("button", { type: "button", text: "Restore the default" });
  const prompt = form({
    label: "Global system prompt",
    parts: [h("h3", { text: "Global system prompt" }),
      h("p", { class: "muted small", text: "What the model is told before every question, unless the area has its own prompt." }), promptField],
    submit: "Save prompt",
    extra: [restore],
    done: () => "System prompt saved.",
    send: async (v) => {
      const saved = await api.call("PUT", "/llm/settings", { json: { system_prompt: v["global-prompt"] } });
      textarea.value = saved.system_prompt;
    },
  });
  restore.addEventListener("click", () => attempt(async () => {
    if (!(await confirmed("Replace the global system prompt with the default one?", "Restore"))) return;
    const saved = await api.call("PUT", "/llm/settings", { json: { system_prompt: null } });
    textarea.value = saved.system_prompt;
    notify("The default system prompt is back");
  }));
  body.append(
    heading("LLM providers", "The models that write answers: an area's primary provider first, then the default, then the others.",
      linkButton("#/admin/llm/new", "Add provider", { primary: true })),
    list,
    prompt,
  );
  await refresh();
  return undefined;
}

async function oneProvider(body, id) {
  const p = id ? await api.call("GET", `/llm/providers/${id}`) : null;
  const number = (name, label, value, attrs) => field(name, label, { type: "number", value: String(value), required: true, ...attrs });
  const kind = field("llm-type", "Type", { options: KINDS });
  kind.querySelector("select").value = p?.type || "openai_compatible";
  const keyHint = p?.has_api_key
    ? `A key is stored (encrypted${p.api_key_last4 ? `, ending in ${p.api_key_last4}` : ""}): leave this empty to keep it.`
    : "Stored encrypted; never shown again. Local servers usually need none.";
  const result = h("div", { class: "test-result", role: "status" });
  const tester = p ? h("button", { type: "button", text: "Test", onclick: () => test(p, result, tester) }) : null;
  const edit = form({
    label: p ? `Provider ${p.name}` : "New LLM provider",
    parts: [
      h("div", { class: "fields" },
        field("llm-name", "Name", { required: true, maxlength: 100, value: p?.name || "", autocomplete: "off" }),
        kind,
        hinted(field("llm-model", "Model", { required: true, maxlength: 200, value: p?.model || "", autocomplete: "off", class: "mono" }),
          "As the provider names it, e.g. gpt-4o-mini, claude-3-5-haiku-latest, llama3.1:8b."),
        hinted(field("llm-base", "API base", { type: "url", maxlength: 500, value: p?.api_base || "", autocomplete: "off", class: "mono",
          placeholder: "https://…" }), "Needed for Ollama, Azure and OpenAI-compatible servers, e.g. http://127.0.0.1:8080/v1."),
        hinted(field("llm-key", "API key", { type: "password", maxlength: 1000, autocomplete: "new-password" }), keyHint),
        hinted(number("llm-temperature", "Temperature", p?.temperature ?? 0.2, { min: 0, max: 2, step: 0.05 }), "0: the same question, the same answer; up to 2."),
        hinted(number("llm-max-tokens", "Max tokens", p?.max_tokens ?? 1024, { min: 1, max: 200000, step: 1 }), "The longest answer, in tokens."),
        hinted(number("llm-cap", "Hourly cap", p?.hourly_cap ?? 0, { min: 0, max: 1000000, step: 1 }), "Requests per hour across all users; 0: no cap."),
      ),
      p?.has_api_key ? checkbox("llm-forget-key", "Remove the stored API key") : null,
      checkbox("llm-default", "The default provider", { checked: p?.is_default || false, about: "Used when an area chose none; only one provider is the default." }),
    ],
    submit: p ? "Save" : "Add provider",
    extra: tester ? [tester] : [],
    done: () => "Saved.",
    send: async (v) => {
      const fields = {
        name: v["llm-name"].trim(),
        type: v["llm-type"],
        model: v["llm-model"].trim(),
        api_base: v["llm-base"].trim(),
        temperature: Number(v["llm-temperature"]),
        max_tokens: Number(v["llm-max-tokens"]),
        hourly_cap: Number(v["llm-cap"]),
        is_default: v["llm-default"],
      };
      if (v["llm-key"]) fields.api_key = v["llm-key"];
      else if (v["llm-forget-key"]) fields.api_key = "";
      if (!p) {
        const created = await api.call("POST", "/llm/providers", { json: fields });
        notify(`${created.name} added: test it`);
        location.hash = "#/admin/llm";
        return;
      }
      Object.assign(p, await api.call("PUT", `/llm/providers/${p.id}`, { json: fields }));
      notify(`${p.name} saved`);
    },
  });
  edit.append(result);
  body.append(h("div", {}, back("#/admin/llm", "LLM providers"),
    heading(p ? p.name : "New LLM provider", p ? `${kindName(p.type)} · ${p.model}` : "A model that writes answers. Test it once added.")), edit);
  if (!p) edit.querySelector("#llm-name").focus();
  if (p) {
    const remove = form({
      label: "Delete this provider",
      parts: [h("h3", { text: "Delete this provider" }), h("p", { class: "muted small", text: "Areas that chose it fall back to the default provider." })],
      submit: "Delete provider",
      danger: true,
      send: async () => {
        if (!(await confirmed(`Delete the LLM provider ${p.name}?`))) return;
        await api.call("DELETE", `/llm/providers/${p.id}`);
        notify(`${p.name} deleted`);
        location.hash = "#/admin/llm";
      },
    });
    remove.classList.add("danger-zone");
    body.append(remove);
  }
}

// -- Feedback -------------------------------------------------------------------------

const FEEDBACK_PAGE = 10;

function share(up, down) {
  return up + down ? Math.round((100 * up) / (up + down)) : null;
}

function meter(up, down) {
  const percent = share(up, down);
  if (percent === null) return h("span", { class: "muted", text: "—" });
  return h("span", { class: "meter-line" },
    h("span", { class: "meter", "aria-hidden": "true" }, h("span", { style: `width: ${percent}%` })),
    h("span", { class: "num", text: `${percent}%` }));
}

async function feedbackSection(body, { params }) {
  const offset = offsetOf(params);
  const [report, names] = await Promise.all([
    api.call("GET", `/admin/feedback?offset=${offset}&limit=${FEEDBACK_PAGE}`),
    usernames(),
  ]);
  const areaName = new Map(report.areas.map((a) => [a.area_id, a.name || "a deleted area"]));
  const percent = share(report.up, report.down);
  const stats = h("div", { class: "stats" },
    h("div", { class: "card stat" }, h("span", { class: "stat-value ok", text: String(report.up) }), h("span", { class: "muted", text: "answers rated up" })),
    h("div", { class: "card stat" }, h("span", { class: "stat-value bad", text: String(report.down) }), h("span", { class: "muted", text: "answers rated down" })),
    h("div", { class: "card stat" }, h("span", { class: "stat-value", text: percent === null ? "—" : `${percent}%` }), h("span", { class: "muted", text: "rated up" })),
  );
  const byArea = table(
    "Ratings by area",
    ["Area", { text: "Up", class: "num" }, { text: "Down", class: "num" }, "Rated up"],
    report.areas.map((a) => h("tr", {},
      h("th", { scope: "row", text: areaName.get(a.area_id) }),
      h("td", { class: "num", text: String(a.up) }),
      h("td", { class: "num", text: String(a.down) }),
      h("td", {}, meter(a.up, a.down)))),
    "No answer has been rated yet.",
  );
  const items = report.down_voted.items.map((q) => h(
    "li",
    { class: "card downvote" },
    h("h4", { text: q.question }),
    q.comment ? h("blockquote", { class: "comment" }, h("span", { class: "visually-hidden", text: "Comment: " }), q.comment) : h("p", { class: "muted small", text: "No comment." }),
    q.answer_excerpt ? h("details", {}, h("summary", { text: "The answer" }), h("p", { class: "excerpt", text: q.answer_excerpt })) : null,
    h("p", { class: "muted small meta" },
      `Asked by ${names.get(q.user_id) || "a deleted user"} · `,
      q.areas.length ? `${q.areas.map((a) => areaName.get(a) || "a deleted area").join(", ")} · ` : "no sources · ",
      "rated ", date(q.rated_at)),
  ));
  body.append(
    heading("Feedback", "How people rate the answers: per area, and each answer rated down."),
    stats,
    h("section", { class: "sub", "aria-labelledby": "by-area" }, h("h3", { id: "by-area", text: "By area" }), byArea),
    h("section", { class: "sub", "aria-labelledby": "rated-down" },
      h("h3", { id: "rated-down", text: `Answers rated down (${report.down_voted.total})` }),
      items.length ? h("ol", { class: "downvotes" }, ...items) : h("p", { class: "card empty", text: "No answer has been rated down." }),
      pager("#/admin/feedback", params, report.down_voted)),
  );
}

// -- Terminal sessions ----------------------------------------------------------------

const SESSIONS_PAGE = 25;
const STATUSES = [
  { value: "", label: "Every status" },
  { value: "connected", label: "Connected" },
  { value: "detached", label: "Detached" },
  { value: "connecting", label: "Connecting" },
  { value: "closed", label: "Closed" },
  { value: "failed", label: "Failed" },
];

function target(t) {
  if (t.type === "ssh") return `${t.username}@${t.host}${t.port && t.port !== 22 ? `:${t.port}` : ""}`;
  return "local shell";
}

function statusTag(status) {
  const kind = { connected: "ok", detached: "accent", connecting: "accent", failed: "danger" }[status] || "off";
  return tag(status, kind);
}

async function sessionsSection(body, { params }) {
  const status = params.get("status") || "";
  const filter = field("session-status", "Status", { options: STATUSES });
  const select = filter.querySelector("select");
  select.value = status;
  select.addEventListener("change", () => {
    const next = new URLSearchParams();
    if (select.value) next.set("status", select.value);
    location.hash = `#/admin/sessions${next.size ? `?${next}` : ""}`;
  });
  const list = h("div", { class: "list" });
  const names = await usernames();
  async function refresh() {
    const query = new URLSearchParams({ all: "true", limit: String(SESSIONS_PAGE), offset: String(offsetOf(params)) });
    if (status) query.set("status", status);
    const page = await api.call("GET", `/terminal/sessions?${query}`);
    list.replaceChildren(
      table("Terminal sessions", ["Session", { text: "Owner", class: "hide-narrow" }, "Status", { text: "Target", class: "hide-narrow" },
        { text: "Started", class: "hide-narrow" },
        { text: "Ended", class: "hide-narrow" }, { text: "", class: "actions" }],
      page.items.map((s) => {
        const name = s.title || `Session ${s.id.slice(-6)}`;
        const owner = names.get(s.owner_id) || "a deleted user";
        return h(
          "tr",
          { "data-id": s.id },
          h("th", { scope: "row" }, name,
            s.error && !LIVE.has(s.status) ? h("span", { class: "sub", text: s.error }) : null,
            h("span", { class: "sub narrow-only" }, `${owner} · `, date(s.created_at))),
          h("td", { class: "hide-narrow", text: owner }),
          h("td", {}, statusTag(s.status)),
          h("td", { class: "hide-narrow" }, h("code", { text: target(s.target) })),
          h("td", { class: "hide-narrow" }, date(s.created_at)),
          h("td", { class: "hide-narrow" }, date(s.ended_at)),
          h("td", { class: "actions" },
            linkButton(`#/replay/${s.id}`, "Replay", { label: `Replay ${name}` }),
            LIVE.has(s.status) ? removeButton("Terminate", `Terminate ${name}`,
              `Terminate ${name} of ${owner}? Its shell and every program it started are killed.`, "Terminate", async () => {
                await api.call("DELETE", `/terminal/sessions/${s.id}`);
                notify(`${name} terminated`);
                await refresh();
              }) : null),
        );
      }),
      status ? "No session has this status." : "No terminal sessions yet."),
      pager("#/admin/sessions", params, page) || "",
    );
  }
  body.append(
    heading("Terminal sessions", "Everyone's terminals: watch a recording, or end a session that should not run."),
    h("div", { class: "row toolbar" }, filter),
    list,
  );
  await refresh();
}

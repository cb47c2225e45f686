import * as api from "../api.js";
import { attempt, confirmed, field, h, modal, notify } from "../dom.js";
import { copyButton, date, form, heading, hinted, sectioned, table, tag } from "./forms.js";
import "./settings.css";

const SECTIONS = [
  { key: "account", title: "Account", render: account },
  { key: "api-keys", title: "API keys", render: apiKeys },
  { key: "ssh-keys", title: "SSH keys", render: sshKeys },
  { key: "known-hosts", title: "Known hosts", render: knownHosts },
];

// Every user's own settings: the account and password, API keys, SSH keys, trusted hosts.
export async function settingsPage(main, { user, args }) {
  const { chosen, body } = sectioned(main, { title: "Settings", base: "settings", sections: SECTIONS, current: args[0] });
  await chosen.render(body, user);
}

// -- Account --------------------------------------------------------------------------

async function account(body, user) {
  let access;
  if (user.role === "admin") {
    access = h("span", { text: "Every area, as an administrator" });
  } else if (!user.permissions.length) {
    access = h("span", { class: "muted", text: "No areas yet: an administrator grants them." });
  } else {
    const areas = await api.call("GET", "/areas?limit=500");
    const names = new Map(areas.items.map((a) => [a.id, a.name]));
    access = h("span", {}, ...user.permissions.map((p) =>
      tag(`${names.get(p.area_id) || "an area"} · ${p.write ? "read and write" : "read"}`)));
  }
  body.append(
    heading("Account", "Who you are on this server, and your password."),
    h(
      "div",
      { class: "card" },
      h("h3", { text: "Profile" }),
      h(
        "dl",
        { class: "facts profile" },
        h("dt", { text: "Username" }), h("dd", { text: user.username }),
        h("dt", { text: "Email" }), h("dd", { text: user.email }),
        h("dt", { text: "Role" }), h("dd", {}, tag(user.role === "admin" ? "Administrator" : "User", user.role === "admin" ? "accent" : "")),
        h("dt", { text: "Areas" }), h("dd", {}, access),
        h("dt", { text: "Member since" }), h("dd", {}, date(user.created_at)),
      ),
      h("p", { class: "muted small", text: "An administrator changes your email and role." }),
    ),
    passwordForm(user),
  );
}

function passwordForm(user) {
  const node = form({
    label: "Change your password",
    parts: [
      h("h3", { text: "Change your password" }),
      h("p", { class: "muted small", text: "Every other session and device is logged out; API keys keep working." }),
      // For password managers: whose password this is.
      h("input", { type: "text", autocomplete: "username", value: user.username, hidden: true, readonly: true }),
      h(
        "div",
        { class: "fields" },
        field("current-password", "Current password", { type: "password", autocomplete: "current-password", required: true }),
        hinted(
          field("new-password", "New password", { type: "password", autocomplete: "new-password", required: true }),
          "At least 12 characters of three kinds (lower case, upper case, digits, others), or 20 of any kind.",
        ),
        field("repeat-password", "New password again", { type: "password", autocomplete: "new-password", required: true }),
      ),
    ],
    submit: "Change password",
    reset: true,
    done: () => "Your password was changed.",
    send: async (v, node) => {
      if (v["new-password"] !== v["repeat-password"]) {
        node.querySelector("#repeat-password").focus();
        throw new Error("the two new passwords differ");
      }
      await api.call("PUT", "/users/me/password", {
        json: { current_password: v["current-password"], new_password: v["new-password"] },
      });
      // Every token was revoked, this tab's too: log in again with the new password.
      try {
        await api.login(user.username, v["new-password"]);
      } catch {
        location.reload();
      }
      notify("Password changed; your other sessions were logged out");
    },
  });
  return node;
}

// -- API keys -------------------------------------------------------------------------

const EXPIRY = [
  { value: "", label: "Never" },
  { value: "7", label: "In 7 days" },
  { value: "30", label: "In 30 days" },
  { value: "90", label: "In 90 days" },
  { value: "365", label: "In a year" },
];

async function apiKeys(body) {
  const list = h("div", { class: "list" });
  async function refresh() {
    const { items } = await api.call("GET", "/users/me/api-keys");
    const now = Date.now();
    list.replaceChildren(table(
      "Your API keys",
      ["Name", "Key", { text: "Created", class: "hide-narrow" }, "Expires", { text: "", class: "actions" }],
      items.map((k) => {
        const expired = k.expires_at && new Date(k.expires_at).getTime() < now;
        return h(
          "tr",
          { "data-id": k.id },
          h("th", { scope: "row", text: k.name }),
          h("td", {}, h("code", { class: "prefix", title: k.prefix, text: `${k.prefix}…` })),
          h("td", { class: "hide-narrow" }, date(k.created_at)),
          h("td", {}, expired ? tag("expired", "danger") : date(k.expires_at, "never")),
          h("td", { class: "actions" }, h("button", {
            type: "button",
            class: "danger",
            text: "Revoke",
            "aria-label": `Revoke ${k.name}`,
            onclick: () => attempt(async () => {
              if (!(await confirmed(`Revoke the API key “${k.name}”? Programs using it stop working at once.`, "Revoke"))) return;
              await api.call("DELETE", `/users/me/api-keys/${k.id}`);
              notify(`API key ${k.name} revoked`);
              await refresh();
            }),
          })),
        );
      }),
      "No API keys yet. Create one for scripts and tools that call the API.",
    ));
  }
  const create = form({
    label: "Create an API key",
    parts: [
      h("h3", { text: "Create an API key" }),
      h("div", { class: "fields" },
        field("key-name", "Name", { required: true, maxlength: 100, autocomplete: "off", placeholder: "e.g. backup script" }),
        field("key-expires", "Expires", { options: EXPIRY })),
    ],
    submit: "Create key",
    reset: true,
    send: async (v) => {
      const days = v["key-expires"] ? Number(v["key-expires"]) : null;
      const created = await api.call("POST", "/users/me/api-keys", { json: { name: v["key-name"].trim(), expires_in_days: days } });
      // The key is shown whatever the list does: it exists now, and this is its only showing.
      try {
        await refresh();
      } finally {
        await reveal(created);
      }
    },
  });
  body.append(
    heading("API keys", "Keys let programs call the API as you: send one as “Authorization: Bearer <key>”."),
    create,
    list,
  );
  await refresh();
}

// The new key, once: it is not kept anywhere in the page after the dialog closes.
function reveal(created) {
  const input = h("input", { id: "new-key", readonly: true, value: created.key, spellcheck: "false", autocomplete: "off",
    onfocus: (event) => event.target.select() });
  return modal("Your new API key", [
    h("p", { class: "warning", text: "Copy the key now: you will not see it again." }),
    h("label", { for: "new-key", text: `API key “${created.name}”` }),
    h("div", { class: "secret" }, input, copyButton(() => created.key, input)),
    h("p", { class: "muted small", text: "Only its prefix is stored in the clear; if you lose it, revoke it and create another." }),
  ], [{ value: "ok", text: "I have copied it", primary: true }]);
}

// -- SSH keys -------------------------------------------------------------------------

async function sshKeys(body) {
  const list = h("div", { class: "list" });
  async function refresh() {
    const { items } = await api.call("GET", "/users/me/ssh-keys");
    list.replaceChildren(table(
      "Your SSH keys",
      ["Name", { text: "Type", class: "hide-narrow" }, "Fingerprint", { text: "Added", class: "hide-narrow" }, { text: "", class: "actions" }],
      items.map((k) => h(
        "tr",
        { "data-id": k.id },
        h("th", { scope: "row", text: k.title || "(no name)" }),
        h("td", { class: "hide-narrow", text: k.algorithm }),
        h("td", {}, h("code", { class: "fingerprint", text: k.fingerprint })),
        h("td", { class: "hide-narrow" }, date(k.created_at)),
        h("td", { class: "actions" }, h("button", {
          type: "button",
          class: "danger",
          text: "Delete",
          "aria-label": `Delete ${k.title || k.fingerprint}`,
          onclick: () => attempt(async () => {
            if (!(await confirmed(`Delete the SSH key “${k.title || k.fingerprint}”? It no longer logs in to the SSH gateway.`))) return;
            await api.call("DELETE", `/users/me/ssh-keys/${k.id}`);
            notify("SSH key deleted");
            await refresh();
          }),
        })),
      )),
      "No SSH keys yet. Add your public key to log in to the SSH gateway.",
    ));
  }
  const add = form({
    label: "Add an SSH key",
    parts: [
      h("h3", { text: "Add an SSH key" }),
      hinted(field("ssh-title", "Name", { maxlength: 100, autocomplete: "off", placeholder: "e.g. laptop" }),
        "Optional: without one, the key's comment names it."),
      hinted(
        field("ssh-key", "Public key", { rows: 4, required: true, spellcheck: "false", class: "mono",
          placeholder: "ssh-ed25519 AAAAC3Nza… you@laptop" }),
        "The contents of your .pub file (e.g. ~/.ssh/id_ed25519.pub), never the private key.",
      ),
    ],
    submit: "Add key",
    reset: true,
    done: (k) => `Added ${k.algorithm} key ${k.fingerprint}`,
    send: async (v) => {
      const text = v["ssh-key"].trim();
      if (/PRIVATE KEY/.test(text)) {
        throw new Error("this is a private key: paste the public one (the .pub file)");
      }
      // Unnamed, a key is called by its comment (usually you@host).
      const title = v["ssh-title"].trim() || (text.split(/\s+/).slice(2).join(" ") || "").slice(0, 100);
      const created = await api.call("POST", "/users/me/ssh-keys", { json: { public_key: text, title } });
      await refresh();
      return created;
    },
  });
  body.append(heading("SSH keys", "Public keys that log you in to the SSH gateway."), add, list);
  await refresh();
}

// -- Known hosts ----------------------------------------------------------------------

async function knownHosts(body) {
  const list = h("div", { class: "list" });
  async function refresh() {
    const { items } = await api.call("GET", "/terminal/known-hosts");
    list.replaceChildren(table(
      "Host keys you trust",
      ["Host", { text: "Key type", class: "hide-narrow" }, "Fingerprint", { text: "Trusted since", class: "hide-narrow" }, { text: "", class: "actions" }],
      items.map((k) => {
        const where = k.port === 22 ? k.host : `${k.host}:${k.port}`;
        return h(
          "tr",
          { "data-id": k.id },
          h("th", { scope: "row", text: where }),
          h("td", { class: "hide-narrow", text: k.key_type }),
          h("td", {}, h("code", { class: "fingerprint", text: k.fingerprint_sha256 })),
          h("td", { class: "hide-narrow" }, date(k.created_at)),
          h("td", { class: "actions" }, h("button", {
            type: "button",
            class: "danger",
            text: "Remove",
            "aria-label": `Remove ${where}`,
            onclick: () => attempt(async () => {
              const question = `Stop trusting the ${k.key_type} key of ${where}? The next connection asks you to confirm it again.`;
              if (!(await confirmed(question, "Remove"))) return;
              await api.call("DELETE", `/terminal/known-hosts/${k.id}`);
              notify(`${where} removed`);
              await refresh();
            }),
          })),
        );
      }),
      "No trusted hosts yet. When you connect to an SSH host in the Terminal and confirm its key, it appears here.",
    ));
  }
  body.append(
    heading("Known hosts", "The SSH host keys you confirmed. A host whose key changes is refused until you remove the old one."),
    list,
  );
  await refresh();
}

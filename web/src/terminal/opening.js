// The new session form: a local shell, or an SSH target (password, or a private key
// with its passphrase), with the host-key confirmation in between. It keeps what was
// typed when the server refuses, and shows why.
import * as api from "../api.js";
import { field, h } from "../dom.js";
import { formDialog } from "./dialog.js";
import { alarmChanged, confirmUnknown, offeredKey } from "./hostkeys.js";

function radio(name, value, label, attrs = {}) {
  const id = `term-${name}-${value}`;
  return h("label", { class: "check", for: id }, h("input", { id, type: "radio", name, value, ...attrs }), label);
}

// `size()` gives the terminal's cols and rows; resolves with the created session or null.
export function openingDialog({ size, capabilities }) {
  const local = capabilities?.local_for_you !== false;
  const kinds = h(
    "fieldset",
    { class: "term-kinds" },
    h("legend", { text: "Open" }),
    radio("kind", "local", "A local shell", { checked: local, disabled: !local }),
    radio("kind", "ssh", "An SSH host", { checked: !local }),
    local ? null : h("p", { class: "muted", text: "Local shells are not available to you on this server." }),
  );
  const auth = h(
    "fieldset",
    { class: "term-auth" },
    h("legend", { text: "Sign in with" }),
    radio("auth", "password", "A password", { checked: true }),
    radio("auth", "key", "A private key"),
  );
  const password = field("term-password", "Password", { name: "password", type: "password", autocomplete: "off" });
  const key = field("term-private-key", "Private key (OpenSSH or PEM)", { name: "private_key", rows: 4, spellcheck: "false", class: "term-key", placeholder: "-----BEGIN OPENSSH PRIVATE KEY-----" });
  const passphrase = field("term-passphrase", "Passphrase of the key (if it has one)", { name: "passphrase", type: "password", autocomplete: "off" });
  const ssh = h(
    "fieldset",
    { class: "term-ssh" },
    h("legend", { text: "SSH host" }),
    h("div", { class: "term-host" },
      field("term-host", "Host", { name: "host", autocomplete: "off", spellcheck: "false", placeholder: "server.example.org" }),
      field("term-port", "Port", { name: "port", type: "number", min: 1, max: 65535, value: 22 })),
    field("term-username", "Username", { name: "username", autocomplete: "off", spellcheck: "false" }),
    auth,
    password,
    key,
    passphrase,
    h("label", { class: "check", for: "term-save" },
      h("input", { id: "term-save", name: "save_credentials", type: "checkbox" }),
      "Keep these credentials on the server (encrypted): next time the host and username are enough"),
  );
  const body = h(
    "div",
    { class: "term-new" },
    kinds,
    field("term-new-title", "Title (optional)", { name: "title", maxlength: 200, placeholder: "what this session is for" }),
    ssh,
    h("label", { class: "check", for: "term-index" },
      h("input", { id: "term-index", name: "index_commands", type: "checkbox" }),
      "Add its commands to my knowledge (secrets redacted), so that Ask can cite them"),
  );

  const box = formDialog({ title: "New session", body, submit: "Open", busy: "Connecting…", work, className: "term-new-dialog" });
  const form = box.form;
  const value = (name) => form.elements.namedItem(name)?.value ?? "";
  const checked = (name) => Boolean(form.elements.namedItem(name)?.checked);

  function show() {
    const isSsh = value("kind") === "ssh";
    ssh.hidden = !isSsh;
    for (const control of ssh.querySelectorAll("input, textarea")) control.disabled = !isSsh;
    const byKey = value("auth") === "key";
    password.hidden = byKey;
    key.hidden = !byKey;
    passphrase.hidden = !byKey;
    form.elements.namedItem("host").required = isSsh;
    form.elements.namedItem("username").required = isSsh;
  }
  form.addEventListener("change", show);
  show();

  function request() {
    const { cols, rows } = size();
    const body = { cols, rows, title: value("title").trim(), index_commands: checked("index_commands") };
    if (value("kind") !== "ssh") return { ...body, target: { type: "local" } };
    const target = {
      type: "ssh",
      host: value("host").trim(),
      port: Number(value("port")) || 22,
      username: value("username").trim(),
      save_credentials: checked("save_credentials"),
    };
    if (value("auth") === "key") {
      if (value("private_key").trim()) target.private_key = `${value("private_key").trim()}\n`;
      if (value("passphrase")) target.passphrase = value("passphrase");
    } else if (value("password")) {
      target.password = value("password");
    }
    return { ...body, target };
  }

  async function work() {
    const json = request();
    for (let tries = 0; ; tries++) {
      try {
        const created = await api.call("POST", "/terminal/sessions", { json });
        for (const name of ["password", "private_key", "passphrase"]) form.elements.namedItem(name).value = "";
        return created;
      } catch (error) {
        const kind = error?.body?.error;
        if (kind === "host_key_unknown" && tries < 2) {
          const offered = offeredKey(error);
          if (await confirmUnknown(offered)) continue;
          throw new Error(`Not connected: the host key of ${offered.host}:${offered.port} was not trusted.`);
        }
        if (kind === "host_key_changed") {
          const offered = offeredKey(error);
          await alarmChanged(offered);
          throw new Error(`Not connected: the host key of ${offered.host}:${offered.port} changed (see Known hosts).`);
        }
        throw error;
      }
    }
  }

  return {
    open: () => box.open(form.querySelector("input[name=kind]:checked")),
    remove: box.remove,
  };
}

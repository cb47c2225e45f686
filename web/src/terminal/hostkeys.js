// SSH host keys: an unknown one is shown for the user to confirm before connecting; a
// changed one raises an alarm and is never trusted in one click (the stored key has to
// be removed first, deliberately, under Known hosts).
import * as api from "../api.js";
import { confirmed, h, when } from "../dom.js";
import { choose, explain } from "./dialog.js";

// The key a 409 host_key_unknown / host_key_changed carries (in the body, or its details).
export function offeredKey(error) {
  const body = error?.body || {};
  const details = body.details && typeof body.details === "object" && !Array.isArray(body.details) ? body.details : {};
  const key = { ...details, ...body };
  return {
    host: key.host,
    port: key.port,
    key_type: key.key_type,
    fingerprint: key.fingerprint_sha256 || key.fingerprint,
    public_key: key.public_key,
  };
}

function facts(rows) {
  return h("dl", { class: "term-facts" }, ...rows.flatMap(([term, value]) => [h("dt", { text: term }), h("dd", {}, value)]));
}

// Resolves true once the user trusted the key (it is stored), false otherwise.
export async function confirmUnknown(key) {
  const answer = await choose(
    "Unknown host key",
    [
      h("p", { text: `This is the first connection to ${key.host}:${key.port}. Check that the fingerprint below is the host's (ask its administrator, or run ssh-keygen -lf on its public key) before trusting it.` }),
      facts([
        ["Host", `${key.host}:${key.port}`],
        ["Key type", key.key_type || "?"],
        ["Fingerprint", h("code", { class: "term-fingerprint", text: key.fingerprint || "?" })],
      ]),
    ],
    [
      { value: "cancel", text: "Cancel" },
      { value: "trust", text: "Trust and connect", primary: true },
    ],
  );
  if (answer !== "trust") return false;
  await api.call("POST", "/terminal/known-hosts", {
    json: { host: key.host, port: key.port, public_key: key.public_key },
  });
  return true;
}

export async function alarmChanged(key) {
  let stored = [];
  try {
    const known = await api.call("GET", "/terminal/known-hosts");
    stored = known.items.filter((k) => k.host === key.host && k.port === key.port);
  } catch {
    stored = [];
  }
  await choose(
    "Warning: the host key has changed",
    [
      h("p", { class: "term-alarm-lead", text: `${key.host}:${key.port} offers a different key than the one you trusted. Someone may be intercepting the connection (a man-in-the-middle attack), or the host was reinstalled.` }),
      h("p", { text: "Nothing was sent to it: your password or key did not leave AISS, and no session was opened." }),
      facts([
        ...stored.map((k) => [`Trusted (${k.key_type})`, h("code", { class: "term-fingerprint", text: k.fingerprint_sha256 })]),
        [`Offered now (${key.key_type || "?"})`, h("code", { class: "term-fingerprint term-fingerprint-new", text: key.fingerprint || "?" })],
      ]),
      h("p", { text: "Only if the host's administrator confirms the new key: remove the old one under Known hosts, then connect again and check the new fingerprint." }),
    ],
    [{ value: "cancel", text: "Close", focus: true }],
    { role: "alertdialog", className: "term-alarm" },
  );
}

// The keys the user trusts, each removable after a confirmation.
export async function knownHosts() {
  const list = h("ul", { class: "term-known" });
  const problem = h("p", { class: "term-problem", role: "alert", hidden: true });
  const body = h("div", { class: "term-known-body" }, list, problem);
  async function fill() {
    const known = await api.call("GET", "/terminal/known-hosts");
    if (!known.items.length) {
      list.replaceChildren(h("li", { class: "muted", text: "No host keys are trusted yet." }));
      return;
    }
    list.replaceChildren(
      ...known.items.map((k) =>
        h(
          "li",
          {},
          h("div", {}, h("strong", { text: `${k.host}:${k.port}` }), " ", h("span", { class: "muted", text: `${k.key_type}, added ${when(k.created_at)}` })),
          h("code", { class: "term-fingerprint", text: k.fingerprint_sha256 }),
          h("button", {
            type: "button",
            class: "danger",
            text: "Remove",
            "aria-label": `Remove the ${k.key_type} key of ${k.host}:${k.port}`,
            onclick: async () => {
              const sure = await confirmed(`Stop trusting the ${k.key_type} key of ${k.host}:${k.port}? The next connection asks you to confirm its key again.`, "Remove");
              if (!sure) return;
              problem.hidden = true;
              try {
                await api.call("DELETE", `/terminal/known-hosts/${k.id}`);
                await fill();
              } catch (error) {
                problem.textContent = explain(error);
                problem.hidden = false;
              }
            },
          }),
        ),
      ),
    );
  }
  await fill();
  await choose("Known hosts", body, [{ value: "cancel", text: "Close" }]);
}

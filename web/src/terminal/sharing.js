// A session's owner shares it read-only with other users (by username), sees with whom,
// and takes it back; and renames it.
import * as api from "../api.js";
import { field, h } from "../dom.js";
import { explain, formDialog } from "./dialog.js";
import { findUser, nameOf } from "./people.js";
import { titleOf } from "./sessions.js";

// Resolves with the session as it is after the changes (or null when nothing changed).
export async function shareDialog(session) {
  let current = session;
  let changed = false;
  const list = h("ul", { class: "term-people", "aria-label": "Shared with" });
  const problem = h("p", { class: "term-problem", role: "alert", hidden: true });

  async function patch(ids) {
    current = await api.call("PATCH", `/terminal/sessions/${current.id}`, { json: { shared_with: ids } });
    changed = true;
    await fill();
  }

  async function fill() {
    if (!current.shared_with.length) {
      list.replaceChildren(h("li", { class: "muted", text: "Nobody yet: only you see it." }));
      return;
    }
    const names = await Promise.all(current.shared_with.map(nameOf));
    list.replaceChildren(
      ...current.shared_with.map((id, i) =>
        h(
          "li",
          {},
          h("span", { class: "grow", text: names[i] || "a user who is gone" }),
          h("button", {
            type: "button",
            class: "quiet",
            text: "Remove",
            "aria-label": `Remove ${names[i] || "this user"}`,
            onclick: async () => {
              problem.hidden = true;
              try {
                await patch(current.shared_with.filter((other) => other !== id));
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

  const who = field("term-share-user", "Username", { name: "username", autocomplete: "off", spellcheck: "false", required: true });
  const box = formDialog({
    title: `Share “${titleOf(session)}”`,
    body: [
      h("p", { text: "They see it under “Shared with me” and can watch it, read-only: what they type never reaches it." }),
      h("h3", { text: "Shared with" }),
      list,
      problem,
      who,
    ],
    submit: "Share",
    busy: "Sharing…",
    cancel: "Close",
    className: "term-share-dialog",
    async work() {
      problem.hidden = true;
      const input = box.form.elements.namedItem("username");
      const found = await findUser(input.value.trim());
      if (found.id === current.owner_id) throw new Error(`${found.username} owns this session already.`);
      if (!current.shared_with.includes(found.id)) await patch([...current.shared_with, found.id]);
      input.value = "";
      input.focus();
      return undefined; // stays open for more
    },
  });
  await fill();
  await box.open(box.form.elements.namedItem("username"));
  box.remove();
  return changed ? current : null;
}

export async function renameDialog(session) {
  const box = formDialog({
    title: "Rename the session",
    body: field("term-rename", "Title", { name: "title", value: session.title || "", maxlength: 200 }),
    submit: "Rename",
    busy: "Renaming…",
    async work() {
      const title = box.form.elements.namedItem("title").value.trim();
      return api.call("PATCH", `/terminal/sessions/${session.id}`, { json: { title } });
    },
  });
  const input = box.form.elements.namedItem("title");
  const renamed = box.open(input);
  input.select();
  const result = await renamed;
  box.remove();
  return result;
}

// Ask as a chat: conversations on the side, the turns of one in the middle, the
// question box under them with the areas to search as chips; past questions too.
import "./ask.css";
import * as api from "../api.js";
import { attempt, confirmed, h, modal, showError, when } from "../dom.js";
import { AnswerView } from "./answer.js";
import { closePassage } from "./passage.js";

function note(message) {
  const parts = [];
  if (message.mode === "extractive" && message.sources?.length !== 0) parts.push("Sentences quoted from the sources");
  if (message.standalone_question) parts.push(`searched as “${message.standalone_question}”`);
  if (message.error) parts.push(`failed: ${message.error}`);
  return parts.join(" · ");
}

export async function askPage(main, { args }) {
  if (args[0] === "history") return historyView(main);
  let conversation = null; // {id, title, area_ids, include_personal}
  let streaming = null; // the AbortController of the answer coming in
  const [areas, listed] = await Promise.all([
    api.call("GET", "/areas?limit=100&active=true"),
    api.call("GET", "/conversations?limit=100"),
  ]);
  if (args[0]) conversation = await api.call("GET", `/conversations/${encodeURIComponent(args[0])}?limit=500`);

  const list = h("ul", { id: "conversations" });
  const thread = h("ol", { class: "thread", "aria-label": "Conversation", "aria-live": "polite" });
  const title = h("h1", { class: "grow", text: conversation?.title || "New conversation" });
  const rename = h("button", { type: "button", class: "quiet", text: "Rename", onclick: () => renameIt() });
  const remove = h("button", { type: "button", class: "quiet danger-text", text: "Delete", onclick: () => deleteIt() });
  const question = h("textarea", { id: "question", rows: 2, required: true, maxlength: 4000,
    placeholder: "Ask about your documents and terminal sessions…" });
  const send = h("button", { type: "submit", class: "primary", text: "Send" });
  const stop = h("button", { type: "button", class: "danger", text: "Stop", hidden: true, onclick: () => streaming?.abort() });
  const personal = { id: "personal", name: "Personal" };
  const chips = [personal, ...areas.items].map((area) =>
    h("button", { type: "button", class: "chip", "data-area": area.id, "aria-pressed": "false", text: area.name,
      onclick: (event) => toggle(event.currentTarget) }));
  const form = h(
    "form",
    { class: "composer", "aria-label": "Ask" },
    h("div", { class: "row scope", role: "group", "aria-label": "Search in" }, h("span", { class: "muted", text: "Search in" }), ...chips),
    h("label", { for: "question", class: "visually-hidden", text: "Question" }),
    h("div", { class: "row ask-row" }, question, send, stop),
  );
  const pane = h("section", { class: "pane chat", "aria-label": "Chat" },
    h("div", { class: "row chat-head" }, title, rename, remove),
    h("div", { class: "scroller" }, thread),
    form);
  main.append(h("div", { class: "split" },
    h("nav", { class: "side conversations-side", "aria-label": "Conversations" },
      h("a", { href: "#/ask", class: "button primary new-chat", text: "New conversation" }),
      h("h2", { text: "Conversations" }), list,
      h("h2", { text: "Questions" }), h("a", { href: "#/ask/history", text: "History of questions" })),
    pane));

  function showList(items) {
    list.replaceChildren(...items.map((c) =>
      h("li", {}, h("a", { href: `#/ask/${c.id}`, "aria-current": c.id === conversation?.id ? "page" : null, title: c.title,
        text: c.title || "Untitled" }))));
    if (!items.length) list.append(h("li", { class: "muted", text: "None yet" }));
  }

  // Scope: the pressed chips ("personal" among them), or everything readable when none is.
  function scope() {
    const pressed = chips.filter((c) => c.getAttribute("aria-pressed") === "true").map((c) => c.dataset.area);
    return { area_ids: pressed, include_personal: true };
  }
  function showScope(c) {
    for (const chip of chips) chip.setAttribute("aria-pressed", String(Boolean(c?.area_ids.includes(chip.dataset.area))));
  }
  async function toggle(chip) {
    chip.setAttribute("aria-pressed", String(chip.getAttribute("aria-pressed") !== "true"));
    if (!conversation) return;
    await attempt(async () => {
      conversation = { ...conversation, ...(await api.call("PATCH", `/conversations/${conversation.id}`, { json: scope() })) };
    });
  }

  async function renameIt() {
    if (!conversation) return;
    const box = h("input", { id: "conversation-title", value: conversation.title, maxlength: 200 });
    const given = await modal("Rename the conversation", [h("label", { for: "conversation-title", text: "Title" }), box], [
      { value: "cancel", text: "Cancel" }, { value: "save", text: "Save", primary: true }]);
    if (!given || !box.value.trim()) return;
    await attempt(async () => {
      conversation = { ...conversation, ...(await api.call("PATCH", `/conversations/${conversation.id}`, { json: { title: box.value.trim() } })) };
      title.textContent = conversation.title;
      showList((await api.call("GET", "/conversations?limit=100")).items);
    });
  }

  async function deleteIt() {
    if (!conversation || !(await confirmed(`Delete “${conversation.title}” and its answers?`))) return;
    await attempt(async () => {
      await api.call("DELETE", `/conversations/${conversation.id}`);
      location.hash = "#/ask";
    });
  }

  async function ask(text) {
    showError(null);
    if (!conversation) {
      conversation = await api.call("POST", "/conversations", { json: scope() });
      // The address names the conversation now, without rendering the page again.
      history.replaceState(null, "", `#/ask/${conversation.id}`);
      title.textContent = conversation.title || text;
      rename.hidden = remove.hidden = false;
    }
    const view = new AnswerView({ question: text });
    thread.append(view.node);
    view.node.scrollIntoView({ block: "end" });
    streaming = new AbortController();
    send.hidden = true;
    stop.hidden = false;
    try {
      const response = await api.call("POST", `/conversations/${conversation.id}/messages`, {
        json: { question: text }, accept: "text/event-stream", signal: streaming.signal,
      });
      view.busy(true);
      let ended = false; // by done or error; a stream that just stops was cut off
      for await (const [kind, data] of api.events(response)) {
        if (kind === "sources") view.setSources(data);
        else if (kind === "token") view.append(data.text);
        else if (kind === "done") {
          ended = true;
          view.finish({ queryId: data.query_id, note: note({ ...data, sources: view.sources }) });
        } else if (kind === "error") {
          ended = true;
          view.finish({ queryId: data.query_id, note: `The answer failed: ${data.message}` });
          showError(new Error(data.message));
        }
      }
      if (!ended) {
        view.finish({ note: "Cut off: the connection ended before the answer was complete." });
        showError(new Error("the answer was cut off: the connection ended before it was complete"));
      }
    } catch (error) {
      if (streaming.signal.aborted) view.finish({ note: "Stopped." });
      else {
        view.finish({ note: "No answer." });
        showError(error);
      }
    } finally {
      streaming = null;
      send.hidden = false;
      stop.hidden = true;
      question.focus();
    }
    showList((await api.call("GET", "/conversations?limit=100")).items);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (!text || streaming) return;
    question.value = "";
    ask(text).catch(showError);
  });
  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  showList(listed.items);
  showScope(conversation);
  rename.hidden = remove.hidden = !conversation;
  for (const message of conversation?.messages || []) {
    thread.append(new AnswerView({ question: message.question, answer: message.answer, sources: message.sources,
      queryId: message.query_id, feedback: message.feedback, note: note(message) }).node);
  }
  if (!thread.children.length) {
    thread.append(h("li", { class: "empty" }, h("p", { text: "Ask a question: the answer cites the passages it comes from." }),
      h("p", { text: "Press a chip to search only some areas; follow-up questions keep the context." })));
    thread.firstChild.dataset.placeholder = "";
    form.addEventListener("submit", () => thread.querySelector("[data-placeholder]")?.remove(), { once: true });
  }
  thread.lastElementChild?.scrollIntoView({ block: "end" });
  question.focus();
  return () => {
    streaming?.abort();
    closePassage();
  };
}

// Every question asked, newest first; one opens its conversation or its answer.
async function historyView(main) {
  const items = h("ol", { class: "history", "aria-label": "Questions asked" });
  let offset = 0;
  const more = h("button", { type: "button", text: "Older questions", onclick: () => load() });
  async function load() {
    const page = await api.call("GET", `/rag/history?limit=25&offset=${offset}`);
    offset += page.items.length;
    more.hidden = offset >= page.total;
    for (const item of page.items) {
      const view = new AnswerView({ question: item.question, answer: item.answer, sources: item.sources,
        queryId: item.id, feedback: item.feedback, note: note(item) });
      items.append(h("li", {}, h("details", {},
        h("summary", {}, h("span", { class: "grow", text: item.question }), h("span", { class: "muted", text: when(item.created_at) })),
        h("ol", { class: "thread" }, view.node),
        item.conversation_id ? h("a", { href: `#/ask/${item.conversation_id}`, text: "Open the conversation" }) : null)));
    }
    if (!offset) items.append(h("li", { class: "empty", text: "No questions yet." }));
  }
  main.append(h("div", { class: "page" }, h("div", { class: "row" }, h("h1", { class: "grow", text: "History of questions" }),
    h("a", { href: "#/ask", text: "Back to the chat" })), items, more));
  await load();
  return () => closePassage();
}

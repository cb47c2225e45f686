// The terminal page: the sessions beside a full-height terminal, with its toolbar (find,
// ask, the command log, rename, share, read-only, replay, terminate). A reload finds the
// session this tab showed and attaches again.
import * as api from "../api.js";
import { confirmed, h, showError } from "../dom.js";
import "../terminal/terminal.css";
import { commandLog } from "../terminal/commands.js";
import { findBar } from "../terminal/find.js";
import { knownHosts } from "../terminal/hostkeys.js";
import { replayAt } from "../terminal/links.js";
import { openingDialog } from "../terminal/opening.js";
import { queryPanel } from "../terminal/query.js";
import { createScreen } from "../terminal/screen.js";
import { isEnded, sessionList, titleOf, targetOf } from "../terminal/sessions.js";
import { renameDialog, shareDialog } from "../terminal/sharing.js";
import { Stream } from "../terminal/stream.js";

const KEPT = "aiss.terminal"; // the session this tab shows (and how), so a reload finds it
const REFRESH_MS = 10_000;
const DOUBLE_ESCAPE_MS = 400;

function kept() {
  const raw = sessionStorage.getItem(KEPT);
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw);
    if (parsed && typeof parsed.id === "string") return parsed;
  } catch {
    // an id on its own, as kept before
  }
  return /^[0-9a-f]{24}$/.test(raw) ? { id: raw, role: "driver" } : null;
}

function kbd(text) {
  return h("kbd", { text });
}

export async function terminalPage(main, { user, args, params }) {
  const capabilities = await api.call("GET", "/terminal/capabilities").catch(() => null);
  let sessions = [];
  let session = null; // the one shown
  let exitCode = null;

  // -- the layout ----------------------------------------------------------------------
  const list = sessionList({ user, pick: (s) => show(s, roleFor(s)).catch(showError) });
  const newButton = h("button", { type: "button", class: "primary", id: "term-new", text: "New session", onclick: () => create() });
  const side = h(
    "nav",
    { class: "side term-side", "aria-label": "Terminal sessions" },
    newButton,
    list.element,
    h("button", { type: "button", class: "quiet term-known-button", text: "Known hosts", onclick: () => knownHosts().catch(showError) }),
  );
  const heading = h("h1", { id: "term-title", class: "term-title", text: "Terminal" });
  const target = h("span", { class: "term-target muted" });
  const state = h("span", { id: "term-state", class: "term-state", "aria-live": "polite", text: "no session" });
  const tool = (text, onclick, attrs = {}) => h("button", { type: "button", class: "quiet", text, onclick, ...attrs });
  const tools = {
    find: tool("Find", () => find.open(), { "aria-keyshortcuts": "Control+Shift+F" }),
    ask: tool("Ask", () => toggle("ask"), { "aria-expanded": "false", "aria-controls": "term-ask-panel", "aria-keyshortcuts": "Control+Shift+K" }),
    commands: tool("Commands", () => toggle("commands"), { "aria-expanded": "false", "aria-controls": "term-commands-panel" }),
    readOnly: tool("Read-only", () => switchRole(), { "aria-pressed": "false", title: "Watch without typing into it" }),
    rename: tool("Rename", () => rename()),
    share: tool("Share", () => share()),
    replay: h("a", { class: "term-link", href: "#/replay", text: "Replay" }),
    terminate: h("button", { type: "button", class: "danger", text: "Terminate", onclick: () => terminate() }),
  };
  const hint = h(
    "p",
    { id: "term-hint", class: "term-hint muted" },
    kbd("Esc"), " ", kbd("Esc"), " leaves the terminal · ", kbd("Ctrl+Shift+F"), " find · ", kbd("Ctrl+Shift+K"), " ask",
  );
  const readOnlyNote = h("p", { class: "term-readonly-note", hidden: true, text: "Read-only: you are watching; what you type goes nowhere." });
  const bar = h(
    "div",
    { class: "term-bar" },
    h("div", { class: "term-heading" }, heading, target, state),
    h("div", { class: "term-tools", role: "group", "aria-label": "Session" }, ...Object.values(tools)),
    hint,
  );
  const holder = h("div", { id: "terminal", class: "term-screen" });
  const empty = h(
    "div",
    { class: "term-empty" },
    h("p", { text: "No session is shown: open a new one, or pick one from the list." }),
    h("button", { type: "button", class: "primary", text: "New session", onclick: () => create() }),
  );
  const screenBox = h("div", { class: "term-screen-box" }, holder, empty);
  const body = h("div", { class: "term-body" }, screenBox);
  const pane = h("section", { class: "pane term-main", "aria-labelledby": "term-title" }, bar, readOnlyNote, body);
  const root = h("div", { class: "split term-page" }, side, pane);
  main.append(root);

  // -- the terminal and its stream -----------------------------------------------------
  // Escape twice leaves the terminal. A lone Escape waits that long before it goes to the
  // program (as tmux's escape-time does), so two of them leave nothing half-typed behind;
  // any other key sends the waiting one first, in order.
  let escaping = 0;
  const sendEscape = () => {
    clearTimeout(escaping);
    escaping = 0;
    screen.term.input("\x1b", false);
  };
  const screen = createScreen(holder, {
    keys(event) {
      if (event.type !== "keydown") return false;
      const plainEscape = event.key === "Escape" && !event.ctrlKey && !event.altKey && !event.shiftKey && !event.metaKey;
      if (plainEscape && !event.repeat) {
        if (escaping) {
          clearTimeout(escaping);
          escaping = 0;
          if (!list.focus()) newButton.focus();
        } else {
          escaping = setTimeout(sendEscape, DOUBLE_ESCAPE_MS);
        }
        return true;
      }
      if (escaping && !["Shift", "Control", "Alt", "Meta"].includes(event.key)) sendEscape();
      if (event.ctrlKey && event.shiftKey && event.code === "KeyF") {
        find.open();
        return true;
      }
      if (event.ctrlKey && event.shiftKey && event.code === "KeyK") {
        open("ask");
        return true;
      }
      return false;
    },
  });
  const term = screen.term;
  term.textarea?.setAttribute("aria-describedby", "term-hint");
  const find = findBar(screen);
  pane.insertBefore(find.element, body);

  const stream = new Stream(term, {
    state(now) {
      if (now.state === "attached") term.options.disableStdin = now.role !== "driver";
      update();
      if (now.state === "attached" || now.state === "ended") refresh().catch(showError);
    },
    status(message) {
      if (message.type === "error") showError(new Error(message.message));
    },
    exit(code) {
      exitCode = code;
      term.write(`\r\n[exited with ${code}]\r\n`);
      sessionStorage.removeItem(KEPT);
    },
  });

  // -- the panels beside it ------------------------------------------------------------
  const panels = {
    ask: queryPanel({ done: () => term.focus(), close: () => close() }),
    commands: commandLog({ sessions: () => sessions, currentId: () => session?.id, close: () => close() }),
  };
  for (const [name, panel] of Object.entries(panels)) {
    body.append(panel.element);
    panel.element.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.defaultPrevented) {
        event.preventDefault();
        close();
      }
    });
    panel.name = name;
  }
  let opened = null;

  function open(name) {
    opened = name;
    for (const [other, panel] of Object.entries(panels)) panel.element.hidden = other !== name;
    tools.ask.setAttribute("aria-expanded", String(name === "ask"));
    tools.commands.setAttribute("aria-expanded", String(name === "commands"));
    if (name === "commands") panels.commands.load();
    panels[name].focus();
  }

  function close() {
    opened = null;
    for (const panel of Object.values(panels)) panel.element.hidden = true;
    tools.ask.setAttribute("aria-expanded", "false");
    tools.commands.setAttribute("aria-expanded", "false");
    term.focus();
  }

  function toggle(name) {
    if (opened === name) close();
    else open(name);
  }

  // -- what is shown -------------------------------------------------------------------
  const mine = (s) => s.owner_id === user.id;
  const manages = (s) => mine(s) || user.role === "admin";
  const roleFor = (s) => (mine(s) ? "driver" : "observer");

  function stateText() {
    switch (stream.state) {
      case "connecting":
        return "attaching…";
      case "attached":
        return stream.role === "driver" ? "attached (driver)" : "observing (read-only)";
      case "reconnecting":
        return "reconnecting…";
      case "ended":
        return exitCode === null ? "ended" : `exited (${exitCode})`;
      default:
        return session && isEnded(session) ? "ended" : "no session";
    }
  }

  function update() {
    const current = session ? { id: session.id, role: stream.role, state: stream.state } : null;
    list.render(sessions, current);
    heading.textContent = session ? titleOf(session) : "Terminal";
    target.textContent = session && session.title ? targetOf(session) : "";
    state.textContent = stateText();
    state.dataset.state = stream.state;
    const live = Boolean(session) && !isEnded(session) && stream.state !== "ended";
    const observing = stream.state === "attached" && stream.role !== "driver";
    empty.hidden = Boolean(session);
    readOnlyNote.hidden = !observing;
    pane.classList.toggle("term-readonly", observing);
    tools.rename.disabled = !session || !manages(session);
    tools.share.disabled = !session || !manages(session);
    tools.terminate.disabled = !live || !manages(session);
    tools.readOnly.disabled = !live || !mine(session);
    tools.readOnly.setAttribute("aria-pressed", String(observing));
    tools.replay.hidden = !session;
    if (session) tools.replay.href = replayAt(session.id);
  }

  async function refresh() {
    const page = await api.call("GET", "/terminal/sessions?limit=100");
    sessions = page.items;
    if (session) session = sessions.find((s) => s.id === session.id) || session;
    update();
  }

  async function show(chosen, role) {
    session = chosen;
    exitCode = null;
    sessionStorage.setItem(KEPT, JSON.stringify({ id: chosen.id, role }));
    term.reset();
    term.options.disableStdin = role !== "driver";
    const attaching = stream.attach(chosen.id, role);
    update();
    term.focus();
    try {
      await attaching;
    } catch (error) {
      if (stream.state === "ended") sessionStorage.removeItem(KEPT);
      throw error;
    }
  }

  async function create() {
    const created = await opening.open();
    if (!created) return;
    sessions = [created, ...sessions.filter((s) => s.id !== created.id)];
    await show(created, "driver").catch(showError);
  }

  async function switchRole() {
    if (!session) return;
    await show(session, stream.role === "driver" ? "observer" : "driver").catch(showError);
  }

  async function rename() {
    if (!session) return;
    const renamed = await renameDialog(session);
    if (renamed) {
      session = renamed;
      await refresh().catch(showError);
    }
  }

  async function share() {
    if (!session) return;
    const shared = await shareDialog(session);
    if (shared) session = shared;
    await refresh().catch(showError);
  }

  async function terminate() {
    if (!session) return;
    const ending = session;
    if (!(await confirmed(`Terminate “${titleOf(ending)}”? Its programs are killed; the recording stays.`, "Terminate"))) return;
    try {
      await api.call("DELETE", `/terminal/sessions/${ending.id}`);
    } catch (error) {
      showError(error);
    }
    await refresh().catch(showError);
  }

  const opening = openingDialog({ size: () => ({ cols: term.cols, rows: term.rows }), capabilities });
  const timer = setInterval(() => refresh().catch(() => {}), REFRESH_MS);

  const leave = () => {
    clearInterval(timer);
    clearTimeout(escaping);
    stream.dispose();
    find.dispose();
    for (const panel of Object.values(panels)) panel.dispose();
    opening.remove();
    screen.dispose();
  };
  try {
    await refresh();
  } catch (error) {
    leave(); // the page is not shown: the router has nothing to end when it is left
    throw error;
  }
  const wanted = args[0] ? { id: args[0], role: params.get("observe") ? "observer" : null } : kept();
  if (wanted) {
    const found = sessions.find((s) => s.id === wanted.id)
      || (await api.call("GET", `/terminal/sessions/${encodeURIComponent(wanted.id)}`).catch(() => null));
    if (found && !isEnded(found)) {
      const role = mine(found) && wanted.role !== "observer" ? "driver" : "observer";
      await show(found, role).catch(showError);
    } else {
      sessionStorage.removeItem(KEPT);
    }
  }
  update();

  return leave;
}

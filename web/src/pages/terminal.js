import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { WebglAddon } from "@xterm/addon-webgl";
import "@xterm/xterm/css/xterm.css";
import * as api from "../api.js";
import { h, showError } from "../dom.js";

const INPUT = 0, RESIZE = 1, ACK = 2, COUNT = 4;
const OUTPUT = 0, STATUS = 1;
const ACK_EVERY = 16 * 1024;
const FRAME_BYTES = 64 * 1024;
const KEPT = "aiss.terminal"; // the session this tab shows, so a reload finds it again
const encoder = new TextEncoder();

function frame(kind, payload) {
  const body = typeof payload === "string" ? encoder.encode(payload) : payload;
  const out = new Uint8Array(body.length + 1);
  out[0] = kind;
  out.set(body, 1);
  return out;
}

// xterm.js with fit and WebGL; reconnects (and so reattaches) until the shell exits.
export async function terminalPage(main) {
  const list = h("tbody");
  const observe = h("input", { id: "observe", type: "checkbox" });
  const holder = h("div", { id: "terminal", class: "terminal", "aria-label": "Terminal" });
  const state = h("span", { id: "term-state", "aria-live": "polite" });
  main.append(
    h(
      "section",
      { class: "card" },
      h("h1", { text: "Terminal" }),
      h(
        "div",
        { class: "toolbar" },
        h("button", { type: "button", id: "new-terminal", text: "New terminal", onclick: () => start() }),
        h("label", { for: "observe" }, observe, " watch only"),
        state,
      ),
      holder,
    ),
    h(
      "table",
      { class: "card", "aria-label": "Your terminal sessions" },
      h("thead", {}, h("tr", {}, ...["Session", "Status", "Target", ""].map((t) => h("th", { text: t })))),
      list,
    ),
  );

  // Screen-reader mode keeps the rows as text in the page, for assistive tools (and tests).
  const term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000, screenReaderMode: true });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(holder);
  try {
    term.loadAddon(new WebglAddon());
  } catch {
    // no WebGL here: the DOM renderer does
  }
  term.attachCustomKeyEventHandler((event) => {
    // Ctrl+Shift+C copies the selection; Ctrl+Shift+V is the browser's paste.
    if (event.type === "keydown" && event.ctrlKey && event.shiftKey && event.code === "KeyC") {
      navigator.clipboard?.writeText(term.getSelection());
      return false;
    }
    return true;
  });
  fit.fit();

  let socket = null;
  let current = null;
  let closing = false;
  let unacked = 0;
  let counts = false; // the server said it takes COUNT frames
  let retry = 0;

  function acknowledge() {
    if (!unacked) return;
    if (counts) {
      // A count frame: the bytes rendered, 4 bytes big-endian.
      const count = new Uint8Array(4);
      new DataView(count.buffer).setUint32(0, unacked);
      send(COUNT, count);
    } else {
      send(ACK, JSON.stringify({ bytes: unacked })); // a server from before count frames
    }
    unacked = 0;
  }

  function send(kind, payload) {
    if (socket?.readyState !== WebSocket.OPEN) return;
    const body = typeof payload === "string" ? encoder.encode(payload) : payload;
    // A large paste goes in pieces: the server refuses frames over 1 MiB.
    let at = 0;
    do {
      socket.send(frame(kind, body.subarray(at, at + FRAME_BYTES)));
      at += FRAME_BYTES;
    } while (at < body.length);
  }
  term.onData((data) => send(INPUT, data));
  term.onBinary((data) => send(INPUT, Uint8Array.from(data, (c) => c.charCodeAt(0))));
  term.onResize(({ cols, rows }) => send(RESIZE, JSON.stringify({ cols, rows })));
  const onWindow = () => fit.fit();
  window.addEventListener("resize", onWindow);

  async function refresh() {
    const page = await api.call("GET", "/terminal/sessions?limit=50");
    list.replaceChildren(
      ...page.items.map((s) =>
        h(
          "tr",
          {},
          h("td", { text: s.title || s.id }),
          h("td", { text: s.status }),
          h("td", { text: s.target.host || s.target.shell || s.target.type }),
          h(
            "td",
            { class: "actions" },
            s.status === "closed" || s.status === "failed"
              ? null
              : h("button", { type: "button", text: "Attach", onclick: () => attach(s.id) }),
            s.status === "closed" || s.status === "failed"
              ? null
              : h("button", { type: "button", text: "Terminate", onclick: () => terminate(s.id) }),
            h("a", { href: `#/replay/${s.id}`, text: "Replay" }),
          ),
        ),
      ),
    );
  }

  async function start() {
    try {
      const created = await api.call("POST", "/terminal/sessions", {
        json: { target: { type: "local" }, cols: term.cols, rows: term.rows, title: "browser" },
      });
      await attach(created.id);
      await refresh();
    } catch (error) {
      showError(error);
    }
  }

  async function terminate(id) {
    try {
      await api.call("DELETE", `/terminal/sessions/${id}`);
      if (id === current) sessionStorage.removeItem(KEPT);
      await refresh();
    } catch (error) {
      showError(error);
    }
  }

  async function attach(id) {
    closing = true;
    socket?.close();
    closing = false;
    current = id;
    sessionStorage.setItem(KEPT, id);
    const role = observe.checked ? "observer" : "driver";
    const ticket = await api.call("POST", `/terminal/sessions/${id}/ticket`, { json: { role } });
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${ticket.ws_path}?ticket=${ticket.ticket}`);
    ws.binaryType = "arraybuffer";
    socket = ws;
    unacked = 0;
    counts = false;
    ws.onopen = () => {
      retry = 0;
      state.textContent = `attached (${ticket.role})`;
      fit.fit();
      send(RESIZE, JSON.stringify({ cols: term.cols, rows: term.rows }));
      term.focus();
    };
    ws.onmessage = (message) => {
      const data = new Uint8Array(message.data);
      if (data[0] === OUTPUT) {
        const chunk = data.subarray(1);
        term.write(chunk, () => {
          unacked += chunk.length;
          if (unacked >= ACK_EVERY) acknowledge();
        });
        setTimeout(acknowledge, 50);
      } else if (data[0] === STATUS) {
        const status = JSON.parse(new TextDecoder().decode(data.subarray(1)));
        if (status.type === "attached") counts = status.count === true;
        if (status.type === "replay-begin") term.reset();
        if (status.type === "exit") {
          term.write(`\r\n[exited with ${status.code}]\r\n`);
          sessionStorage.removeItem(KEPT);
          state.textContent = `exited (${status.code})`;
          current = null;
          refresh();
        }
        if (status.type === "error") showError(new Error(status.message));
        if (status.type === "role") state.textContent = `attached (${status.role})`;
      }
    };
    ws.onclose = () => {
      if (ws !== socket || closing || current !== id) return;
      // Dropped: attach again (the shell lives on; the scrollback is replayed).
      state.textContent = "reconnecting…";
      retry = Math.min(retry + 1, 5);
      setTimeout(() => current === id && attach(id).catch(showError), 300 * 2 ** retry);
    };
  }

  await refresh();
  const kept = sessionStorage.getItem(KEPT);
  if (kept) await attach(kept).catch(() => sessionStorage.removeItem(KEPT));
  return async () => {
    closing = true;
    current = null;
    window.removeEventListener("resize", onWindow);
    socket?.close();
    term.dispose();
  };
}

// A terminal session's WebSocket (docs/terminal-protocol.md): binary frames, output
// acknowledged as xterm.js renders it, reattached after a drop until the program ends.
import * as api from "../api.js";

const INPUT = 0, RESIZE = 1, ACK = 2, COUNT = 4;
const OUTPUT = 0, STATUS = 1;
const ACK_EVERY = 16 * 1024; // acknowledge in batches...
const ACK_AFTER_MS = 50; // ...and what is left soon after the last output
const FRAME_BYTES = 64 * 1024; // a large paste goes in pieces (the server takes up to 1 MiB)
const GONE = new Set([4403, 4404]); // the session ended, or is not ours to see: no retry
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function frame(kind, body) {
  const out = new Uint8Array(body.length + 1);
  out[0] = kind;
  out.set(body, 1);
  return out;
}

// `on.state({id, role, state})` where state is connecting, attached, reconnecting or
// ended; `on.status(message)` for every status frame; `on.exit(code)`.
export class Stream {
  constructor(term, on = {}) {
    this.term = term;
    this.on = on;
    this.socket = null;
    this.id = null;
    this.role = null;
    this.state = "idle";
    this.unacked = 0;
    this.counts = false; // the server said it takes COUNT frames
    this.timer = 0;
    this.retry = 0;
    this.retryTimer = 0;
    this.turn = 0; // each attach (and each leave) starts a turn; what an older one gets is dropped
    this.flush = () => {
      this.timer = 0;
      this.acknowledge();
    };
    // Output is acknowledged once rendered: xterm.js calls back after writing.
    this.rendered = (count) => () => {
      this.unacked += count;
      if (this.unacked >= ACK_EVERY) this.acknowledge();
      else if (!this.timer) this.timer = setTimeout(this.flush, ACK_AFTER_MS);
    };
    this.disposables = [
      term.onData((data) => this.input(encoder.encode(data))),
      term.onBinary((data) => this.input(Uint8Array.from(data, (c) => c.charCodeAt(0)))),
      term.onResize(({ cols, rows }) => this.resize(cols, rows)),
    ];
  }

  get driving() {
    return this.state === "attached" && this.role === "driver";
  }

  set(state) {
    this.state = state;
    this.on.state?.({ id: this.id, role: this.role, state });
  }

  // Attach to a session as `role` (driver or observer); the previous one is left.
  async attach(id, role) {
    this.leave();
    this.id = id;
    this.role = role;
    this.retry = 0;
    const turn = ++this.turn;
    this.set("connecting");
    await this.connect(id, role, turn);
  }

  // The same session attached again (a double click, Read-only twice) is a new turn too:
  // the older ticket's answer opens nothing.
  async connect(id, role, turn) {
    let ticket;
    try {
      ticket = await api.call("POST", `/terminal/sessions/${id}/ticket`, { json: { role } });
    } catch (error) {
      if (this.turn !== turn) return;
      if (error?.status === 404 || error?.status === 403) this.ended();
      else this.reconnect(turn);
      throw error;
    }
    if (this.turn !== turn) return;
    this.role = ticket.role;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${ticket.ws_path}?ticket=${encodeURIComponent(ticket.ticket)}`);
    ws.binaryType = "arraybuffer";
    this.socket = ws;
    this.unacked = 0;
    this.counts = false;
    ws.onmessage = (message) => {
      if (ws !== this.socket) return; // left, or replaced: its output is not this screen's
      const data = new Uint8Array(message.data);
      if (data[0] === OUTPUT) {
        const chunk = data.subarray(1);
        this.term.write(chunk, this.rendered(chunk.length));
      } else if (data[0] === STATUS) {
        this.status(JSON.parse(decoder.decode(data.subarray(1))));
      }
    };
    ws.onclose = (event) => {
      if (ws !== this.socket) return; // left on purpose, or replaced
      this.socket = null;
      if (this.state === "ended") return;
      if (GONE.has(event.code)) this.ended();
      else this.reconnect(turn); // dropped: the shell lives on; its scrollback is replayed
    };
  }

  status(message) {
    switch (message.type) {
      case "attached":
        this.counts = message.count === true;
        this.role = message.role;
        this.retry = 0;
        this.set("attached");
        this.resize(this.term.cols, this.term.rows);
        break;
      case "replay-begin":
        this.term.reset();
        break;
      case "role":
        this.role = message.role;
        this.set("attached");
        break;
      case "exit":
        this.on.exit?.(message.code);
        this.ended();
        break;
      default:
        break;
    }
    this.on.status?.(message);
  }

  reconnect(turn) {
    if (this.turn !== turn || this.state === "ended") return;
    this.set("reconnecting");
    this.retry = Math.min(this.retry + 1, 5);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.turn === turn) this.connect(this.id, this.role, turn).catch(() => {});
    }, 300 * 2 ** this.retry);
  }

  ended() {
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    clearTimeout(this.retryTimer);
    this.set("ended");
  }

  // Detach (the program goes on running).
  leave() {
    this.turn += 1;
    clearTimeout(this.retryTimer);
    clearTimeout(this.timer);
    this.timer = 0;
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.id = null;
    this.role = null;
    this.state = "idle";
  }

  acknowledge() {
    if (!this.unacked) return;
    if (this.counts) {
      const count = new Uint8Array(4); // the bytes rendered, big-endian
      new DataView(count.buffer).setUint32(0, this.unacked);
      this.send(COUNT, count);
    } else {
      this.send(ACK, encoder.encode(JSON.stringify({ bytes: this.unacked }))); // an older server
    }
    this.unacked = 0;
  }

  input(bytes) {
    if (this.driving) this.send(INPUT, bytes);
  }

  resize(cols, rows) {
    this.send(RESIZE, encoder.encode(JSON.stringify({ cols, rows })));
  }

  send(kind, body) {
    const socket = this.socket;
    if (socket?.readyState !== WebSocket.OPEN) return;
    let at = 0;
    do {
      socket.send(frame(kind, body.subarray(at, at + FRAME_BYTES)));
      at += FRAME_BYTES;
    } while (at < body.length);
  }

  dispose() {
    this.leave();
    for (const d of this.disposables) d.dispose();
  }
}

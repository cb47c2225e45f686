// A session's recording in asciinema-player, at `#/replay/{id}?t=SECONDS` from that
// moment; the session's commands beside it jump to theirs.
import * as AsciinemaPlayer from "asciinema-player";
import "asciinema-player/dist/bundle/asciinema-player.css";
import * as api from "../api.js";
import { h, when } from "../dom.js";
import "../terminal/replay.css";
import { replayAt, secondsInto } from "../terminal/links.js";
import { targetOf, titleOf } from "../terminal/sessions.js";

const IDLE_LIMIT = 2; // long pauses at a prompt play as two seconds


// The player's clock runs pauses longer than IDLE_LIMIT short: the recording's second
// `t` is earlier on it (the player does the same to the events; this maps a moment, one
// inside a shortened pause to that pause's end, before what ends it).
export function playerTime(cast, t) {
  let previous = 0;
  let shift = 0;
  for (const line of cast.split("\n").slice(1)) {
    if (!line) continue;
    const at = Number.parseFloat(line.slice(1)); // `[seconds, "o", "..."]`
    if (!Number.isFinite(at) || at > t) break;
    shift += Math.max(0, at - previous - IDLE_LIMIT);
    previous = at;
  }
  const into = Math.min(t - previous, IDLE_LIMIT - 0.05); // into the pause after `previous`
  return Math.max(0, previous - shift + into);
}

function clock(seconds) {
  const s = Math.floor(seconds);
  const hms = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return (hms[0] ? hms : hms.slice(1)).map((n, i) => (i ? String(n).padStart(2, "0") : String(n))).join(":");
}

export async function replayPage(main, { args, params }) {
  const id = args[0];
  const asked = Number.parseFloat(params.get("t") || "");
  const t = Number.isFinite(asked) && asked > 0 ? asked : 0;
  const [session, cast, commands] = await Promise.all([
    api.call("GET", `/terminal/sessions/${id}`),
    api.call("GET", `/terminal/sessions/${id}/recording`),
    api.call("GET", `/terminal/commands?session_id=${encodeURIComponent(id)}&limit=200`).catch(() => ({ items: [] })),
  ]);
  const holder = h("div", { id: "player", class: "player", "data-start": t ? t.toFixed(1) : "0" });
  const list = h("ol", { class: "replay-commands", "aria-label": "Commands in this session" });
  const status = session.status === "closed" || session.status === "failed"
    ? `ended ${when(session.ended_at)}`
    : "still running: this is the recording so far";
  main.append(
    h(
      "div",
      { class: "page replay" },
      h(
        "header",
        { class: "replay-head" },
        h("h1", { text: `Replay: ${titleOf(session)}` }),
        h("p", { class: "muted" }, `${targetOf(session)} · started ${when(session.created_at)} · ${status}`,
          t ? ` · from ${clock(t)}` : ""),
        h("a", { href: "#/terminal", text: "Back to the terminal" }),
      ),
      h(
        "div",
        { class: "replay-body" },
        h("div", { class: "replay-player" }, holder),
        h("section", { class: "replay-side", "aria-labelledby": "replay-commands-title" },
          h("h2", { id: "replay-commands-title", text: "Commands" }),
          commands.items.length ? list : h("p", { class: "muted", text: "No commands were logged in this session." })),
      ),
    ),
  );

  const url = URL.createObjectURL(new Blob([cast], { type: "application/x-asciicast" }));
  const start = t ? playerTime(cast, t) : 0;
  const narrow = window.matchMedia("(max-width: 720px)").matches;
  const player = AsciinemaPlayer.create(url, holder, {
    fit: narrow ? "width" : "both",
    autoPlay: false,
    controls: true,
    preload: true,
    idleTimeLimit: IDLE_LIMIT,
    theme: "aiss", // replay.css: the app's colours, dark or light
    ...(t ? { startAt: t, poster: `npt:${start}` } : {}),
  });

  // Oldest first, each a jump to its moment (and a link to it, to share).
  const ordered = [...commands.items].reverse();
  list.append(
    ...ordered.map((command) => {
      const at = secondsInto(session, command.started_at) ?? 0;
      const code = command.exit_code === null || command.exit_code === undefined ? "exit ?" : `exit ${command.exit_code}`;
      return h(
        "li",
        {},
        h(
          "a",
          {
            href: replayAt(id, at),
            onclick: (event) => {
              // The same page: seek instead of reloading the recording.
              event.preventDefault();
              history.replaceState(null, "", replayAt(id, at));
              player.seek(playerTime(cast, at));
            },
          },
          h("span", { class: "replay-at", text: clock(at) }),
          h("code", { text: command.command }),
          h("span", { class: "muted", text: code }),
        ),
      );
    }),
  );

  return () => {
    player.dispose?.();
    URL.revokeObjectURL(url);
  };
}

import * as AsciinemaPlayer from "asciinema-player";
import "asciinema-player/dist/bundle/asciinema-player.css";
import * as api from "../api.js";
import { h } from "../dom.js";

// A recording, fetched with the user's token, played in asciinema-player.
export async function replayPage(main, { args }) {
  const id = args[0];
  const holder = h("div", { id: "player", class: "player" });
  main.append(h("section", { class: "card" }, h("h1", { text: "Replay" }), holder));
  const cast = await api.call("GET", `/terminal/sessions/${id}/recording`);
  const url = URL.createObjectURL(new Blob([cast], { type: "application/x-asciicast" }));
  const player = AsciinemaPlayer.create(url, holder, {
    fit: "width",
    autoPlay: false,
    controls: true,
    idleTimeLimit: 2, // long pauses at a prompt play as two seconds
  });
  return () => {
    player.dispose?.();
    URL.revokeObjectURL(url);
  };
}

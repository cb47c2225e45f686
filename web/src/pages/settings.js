import { h } from "../dom.js";

export async function settingsPage(main) {
  main.append(h("div", { class: "page" }, h("h1", { text: "Settings" })));
}

import { h } from "../dom.js";

export async function documentPage(main) {
  main.append(h("div", { class: "page" }, h("h1", { text: "Document" })));
}

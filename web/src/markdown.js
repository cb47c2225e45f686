// Markdown from a model or a user, rendered safely: marked parses, DOMPurify keeps
// only inert HTML (no scripts, handlers or styles; links open elsewhere).
import DOMPurify from "dompurify";
import { Marked } from "marked";

const parser = new Marked({ gfm: true, breaks: true, async: false });
const purify = DOMPurify(window);
purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

// A fragment of the rendered text; `tags` may forbid more (say, images a model names).
export function markdown(text, { forbid = ["img", "style", "form", "input", "button"] } = {}) {
  return purify.sanitize(parser.parse(text), {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS: forbid,
    FORBID_ATTR: ["style"],
  });
}

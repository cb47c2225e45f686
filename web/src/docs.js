// The API documentation at /docs: Swagger UI over the server's own /openapi.json.
import SwaggerUI from "swagger-ui-dist/swagger-ui-es-bundle.js";
import "swagger-ui-dist/swagger-ui.css";
import "./docs.css";
import { setupTheme } from "./theme.js";

// Swagger UI has its own dark styles, switched by this class; the app's choice drives it.
document.addEventListener("aiss:theme", (event) => {
  document.documentElement.classList.toggle("dark-mode", event.detail.dark);
});
setupTheme(document.getElementById("theme"));

// Swagger UI leaves a few controls without names, gives its Authorize buttons names that
// hide their text, and repeats ids in its Authorize dialog. It renders as the reader goes,
// so what it adds is mended as it appears.
function scheme(element) {
  return element.closest(".auth-container")?.querySelector("h4 code")?.textContent || "";
}

const FIELD = ":is(input, select, textarea):not([aria-label], [type=checkbox])";
const mend = [
  [".close-modal:not([aria-label])", (button) => button.setAttribute("aria-label", "Close")],
  ['button[aria-label="Apply credentials"]', (button) => {
    button.setAttribute("aria-label", `Authorize ${scheme(button)}`);
  }],
  ['button[aria-label="Remove authorization"]', (button) => {
    button.setAttribute("aria-label", `Logout ${scheme(button)}`);
  }],
  [".auth-container input:not([data-mended])", (input) => {
    const label = input.closest(".wrapper")?.querySelector("label");
    input.id = `auth-${scheme(input)}`;
    input.removeAttribute("aria-label"); // "auth-bearer-value": its label says it better
    input.dataset.mended = "";
    if (label) label.htmlFor = input.id;
  }],
  // A form field or a parameter: named after its row.
  [`tr[data-property-name] td:last-child ${FIELD}`, (field) => {
    field.setAttribute("aria-label", field.closest("tr").dataset.propertyName);
  }],
  [`tr[data-param-name] td:last-child ${FIELD}`, (field) => {
    field.setAttribute("aria-label", field.closest("tr").dataset.paramName);
  }],
  [".body-param textarea:not([aria-label])", (area) => area.setAttribute("aria-label", "Request body")],
  // Code that scrolls must be reachable by keyboard.
  [".highlight-code pre:not([tabindex]), pre.curl:not([tabindex])", (pre) => pre.setAttribute("tabindex", "0")],
];

new MutationObserver(() => {
  for (const [selector, fix] of mend) document.querySelectorAll(selector).forEach(fix);
}).observe(document.getElementById("api"), { childList: true, subtree: true });

SwaggerUI({
  url: "/openapi.json",
  domNode: document.getElementById("api"),
  // Its deep links are links inside the operations' buttons: nested controls, and axe says so.
  deepLinking: false,
  // Its default sends the document to an outside validator for a badge: nothing leaves.
  validatorUrl: null,
  displayRequestDuration: true,
  filter: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
});

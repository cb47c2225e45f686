import "./style.css";
import * as api from "./api.js";
import { h, showError } from "./dom.js";
import { setupTheme } from "./theme.js";
import { loginPage } from "./pages/login.js";
import { documentsPage } from "./pages/documents.js";
import { documentPage } from "./pages/document.js";
import { askPage } from "./pages/ask.js";
import { terminalPage } from "./pages/terminal.js";
import { replayPage } from "./pages/replay.js";
import { settingsPage } from "./pages/settings.js";
import { adminPage } from "./pages/admin.js";

// Each page: `async (main, {user, args, params}) => leave?`. A page that fills the
// window (no page scroll, its own panes) says so with `full`.
const pages = {
  ask: { render: askPage, title: "Ask", full: (args) => args[0] !== "history" },
  documents: { render: documentsPage, title: "Documents" },
  document: { render: documentPage, title: "Document", nav: "documents" },
  terminal: { render: terminalPage, title: "Terminal", full: true },
  replay: { render: replayPage, title: "Replay", nav: "terminal" },
  settings: { render: settingsPage, title: "Settings" },
  admin: { render: adminPage, title: "Administration" },
};
let leave = null; // what the current page does when it is left
let routing = 0;

// `#/name/arg/arg?key=value`
function parse() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...args] = path.split("/").map(decodeURIComponent);
  return { name, args, params: new URLSearchParams(search) };
}

async function route() {
  const turn = ++routing;
  showError(null);
  if (leave) {
    const done = leave;
    leave = null;
    await done();
  }
  const { name, args, params } = parse();
  const main = document.getElementById("main");
  // Each turn renders into a view of its own: a page still loading when the next one
  // is asked for finishes into a detached view, never beside its successor.
  const view = h("div", { class: "view" });
  main.replaceChildren(view);
  main.className = "";
  const header = document.getElementById("top");
  let user = null;
  try {
    user = await api.whoami();
  } catch {
    user = null;
  }
  if (turn !== routing) return;
  if (!user) {
    header.hidden = true;
    document.title = "Log in · AISS";
    loginPage(view, () => {
      if (!name || name === "login") location.hash = "#/ask";
      route();
    });
    return;
  }
  header.hidden = false;
  header.querySelector("[data-admin]").hidden = user.role !== "admin";
  document.getElementById("whoami").textContent = user.username;
  const page = pages[name] || pages.ask;
  const current = page.nav || (pages[name] ? name : "ask");
  for (const link of header.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === `#/${current}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${page.title} · AISS`;
  main.classList.toggle("full", typeof page.full === "function" ? page.full(args) : Boolean(page.full));
  let done = null;
  try {
    done = (await page.render(view, { user, args, params })) || null;
  } catch (error) {
    if (turn !== routing) return;
    if (error?.status === 401) {
      api.forget();
      route();
      return;
    }
    view.append(h("p", { class: "muted", text: "This page could not be shown." }));
    showError(error);
  }
  if (turn !== routing) {
    await done?.(); // superseded while it loaded: its streams and timers end now
    return;
  }
  leave = done;
  if (turn === routing && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

document.getElementById("logout").addEventListener("click", async () => {
  await api.logout();
  location.hash = "#/login";
  route();
});
// The skip link must not change the hash: that is the router's.
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main").focus();
});
setupTheme(document.getElementById("theme"));
window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (event) => showError(event.reason));

(async () => {
  await api.resume().catch(() => false);
  route();
})();

import "./style.css";
import * as api from "./api.js";
import { showError } from "./dom.js";
import { loginPage } from "./pages/login.js";
import { documentsPage } from "./pages/documents.js";
import { askPage } from "./pages/ask.js";
import { terminalPage } from "./pages/terminal.js";
import { replayPage } from "./pages/replay.js";
import { adminPage } from "./pages/admin.js";

const pages = {
  documents: documentsPage,
  ask: askPage,
  terminal: terminalPage,
  replay: replayPage,
  admin: adminPage,
};
let leave = null; // what the current page does when it is left

async function route() {
  showError(null);
  if (leave) {
    const done = leave;
    leave = null;
    await done();
  }
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const main = document.getElementById("main");
  main.replaceChildren();
  const header = document.getElementById("top");
  let user = null;
  try {
    user = await api.whoami();
  } catch {
    user = null;
  }
  if (!user) {
    header.hidden = true;
    loginPage(main, () => {
      location.hash = name && name !== "login" ? location.hash : "#/documents";
      route();
    });
    return;
  }
  header.hidden = false;
  header.querySelector("[data-admin]").hidden = user.role !== "admin";
  for (const link of header.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${name}`);
  }
  const page = pages[name] || documentsPage;
  try {
    leave = (await page(main, { user, args: rest })) || null;
  } catch (error) {
    showError(error);
  }
  main.focus({ preventScroll: true });
}

document.getElementById("logout").addEventListener("click", async () => {
  await api.logout();
  location.hash = "#/login";
  route();
});
window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (event) => showError(event.reason));

(async () => {
  await api.resume().catch(() => false);
  route();
})();

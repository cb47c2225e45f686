// The colour theme: the system's until the user picks one, then theirs (kept in localStorage).
const KEY = "aiss.theme";
const system = window.matchMedia("(prefers-color-scheme: dark)");

function chosen() {
  const kept = localStorage.getItem(KEY);
  return kept === "dark" || kept === "light" ? kept : null;
}

function apply(button) {
  const dark = (chosen() || (system.matches ? "dark" : "light")) === "dark";
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  button?.setAttribute("aria-pressed", String(dark));
  document.dispatchEvent(new CustomEvent("aiss:theme", { detail: { dark } }));
}

export function isDark() {
  return document.documentElement.dataset.theme === "dark";
}

export function setupTheme(button) {
  apply(button);
  system.addEventListener("change", () => apply(button));
  button.addEventListener("click", () => {
    localStorage.setItem(KEY, isDark() ? "light" : "dark");
    apply(button);
  });
}

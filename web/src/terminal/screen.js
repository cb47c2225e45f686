// xterm.js with its addons: fit (follows its box), search, web links, Unicode 11 widths,
// and WebGL when the browser has it. Its colours follow the app's theme.
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { SearchAddon } from "@xterm/addon-search";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { WebglAddon } from "@xterm/addon-webgl";
import "@xterm/xterm/css/xterm.css";
import { isDark } from "../theme.js";

const DARK = {
  background: "#0d1117", foreground: "#e6edf3", cursor: "#e6edf3", cursorAccent: "#0d1117",
  selectionBackground: "#264f78", black: "#484f58", red: "#ff7b72", green: "#3fb950",
  yellow: "#d29922", blue: "#58a6ff", magenta: "#bc8cff", cyan: "#39c5cf", white: "#b1bac4",
  brightBlack: "#6e7681", brightRed: "#ffa198", brightGreen: "#56d364", brightYellow: "#e3b341",
  brightBlue: "#79c0ff", brightMagenta: "#d2a8ff", brightCyan: "#56d4dd", brightWhite: "#ffffff",
};
const LIGHT = {
  background: "#ffffff", foreground: "#1f2328", cursor: "#1f2328", cursorAccent: "#ffffff",
  selectionBackground: "#b6d7ff", black: "#24292f", red: "#cf222e", green: "#116329",
  yellow: "#7d4e00", blue: "#0969da", magenta: "#8250df", cyan: "#1b7c83", white: "#6e7781",
  brightBlack: "#57606a", brightRed: "#a40e26", brightGreen: "#1a7f37", brightYellow: "#633c01",
  brightBlue: "#218bff", brightMagenta: "#a475f9", brightCyan: "#3192aa", brightWhite: "#8c959f",
};
// Search highlights (#RRGGBB, as the addon wants them).
const MATCHES = {
  dark: { matchBackground: "#5a4a00", activeMatchBackground: "#9e6a03", matchOverviewRuler: "#d29922", activeMatchColorOverviewRuler: "#f0883e" },
  light: { matchBackground: "#fff8c5", activeMatchBackground: "#ffd33d", matchOverviewRuler: "#bf8700", activeMatchColorOverviewRuler: "#bc4c00" },
};

export function searchColours() {
  return isDark() ? MATCHES.dark : MATCHES.light;
}

// `keys(event)` sees each key first: true when it took it (the terminal then ignores it).
export function createScreen(holder, { keys } = {}) {
  // Screen-reader mode keeps the rows as text in the page, for assistive tools (and tests).
  const term = new Terminal({
    cursorBlink: true,
    fontSize: 14,
    fontFamily: 'ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    scrollback: 5000,
    screenReaderMode: true,
    allowProposedApi: true, // search decorations and the Unicode version are proposed API
    theme: isDark() ? DARK : LIGHT,
  });
  const fit = new FitAddon();
  const search = new SearchAddon();
  term.loadAddon(fit);
  term.loadAddon(search);
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = "11";
  term.loadAddon(
    new WebLinksAddon((event, uri) => {
      event.preventDefault();
      window.open(uri, "_blank", "noopener,noreferrer");
    }),
  );
  term.open(holder);
  try {
    const webgl = new WebglAddon();
    webgl.onContextLoss(() => webgl.dispose()); // back to the DOM renderer
    term.loadAddon(webgl);
  } catch {
    // no WebGL here: the DOM renderer draws
  }
  term.attachCustomKeyEventHandler((event) => {
    if (event.type === "keydown" && event.ctrlKey && event.shiftKey && event.code === "KeyC") {
      navigator.clipboard?.writeText(term.getSelection()); // Ctrl+Shift+V is the browser's paste
      return false;
    }
    if (keys?.(event)) {
      event.preventDefault();
      return false;
    }
    return true;
  });

  // Fitted whenever its box changes: the window, a panel opening, the phone turning.
  let frame = 0;
  const refit = () => {
    frame = 0;
    if (holder.clientWidth > 0 && holder.clientHeight > 0) fit.fit();
  };
  const observer = new ResizeObserver(() => {
    if (!frame) frame = requestAnimationFrame(refit);
  });
  observer.observe(holder);
  refit();

  const onTheme = () => {
    term.options.theme = isDark() ? DARK : LIGHT;
  };
  document.addEventListener("aiss:theme", onTheme);

  return {
    term,
    search,
    fit: refit,
    dispose() {
      cancelAnimationFrame(frame);
      observer.disconnect();
      document.removeEventListener("aiss:theme", onTheme);
      term.dispose();
    },
  };
}

// Bundles src/ into ../aiss/web/static, which the Python package serves at /.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";

const out = new URL("../aiss/web/static/", import.meta.url);
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: "src/main.js" },
  bundle: true,
  format: "esm",
  minify: true,
  sourcemap: true,
  target: ["chrome110", "firefox110", "safari16"],
  outdir: out.pathname,
  loader: { ".woff2": "file", ".ttf": "file" },
  logLevel: "warning",
});
await copyFile(new URL("src/index.html", import.meta.url), new URL("index.html", out));

// Bundles src/ into ../aiss/web/static, which the Python package serves at /.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";

const out = new URL("../aiss/web/static/", import.meta.url);
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  // The app, and the API documentation page at /docs (Swagger UI, bundled: nothing from outside).
  entryPoints: { app: "src/main.js", docs: "src/docs.js" },
  bundle: true,
  format: "esm",
  minify: true,
  sourcemap: true,
  target: ["chrome110", "firefox110", "safari16"],
  outdir: out.pathname,
  loader: { ".woff2": "file", ".ttf": "file" },
  logLevel: "warning",
});
for (const page of ["index.html", "docs.html"]) {
  await copyFile(new URL(`src/${page}`, import.meta.url), new URL(page, out));
}

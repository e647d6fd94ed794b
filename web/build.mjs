// Builds the web player into an output folder (web/dist by default): one JS bundle and one
// CSS file, named by a hash of their content so the gateway can let browsers cache them
// forever, and index.html pointing at them. The output depends only on the sources: no
// timestamps, so scripts/web.sh --check can compare a rebuild byte for byte.
//
//   node web/build.mjs [OUT_DIR]

import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const web = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(web, "dist"));

await rm(out, { recursive: true, force: true });
await mkdir(join(out, "assets"), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: join(web, "src/main.ts"), style: join(web, "src/app.css") },
  bundle: true,
  format: "esm",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  // Paths in the output would differ between machines; names stay, content hashes name files.
  sourcemap: false,
  legalComments: "none",
  charset: "utf8",
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
});

const names = Object.keys(result.metafile.outputs).map((path) => basename(path));
const js = names.find((name) => name.endsWith(".js"));
const css = names.find((name) => name.endsWith(".css"));
if (!js || !css) throw new Error(`esbuild wrote ${names.join(", ")}: expected one .js and one .css`);

const page = await readFile(join(web, "static/index.html"), "utf8");
await writeFile(join(out, "index.html"), page.replace("/__JS__", `/assets/${js}`).replace("/__CSS__", `/assets/${css}`));
await copyFile(join(web, "static/favicon.svg"), join(out, "favicon.svg"));
console.error(`web: built ${out} (assets/${js}, assets/${css})`);

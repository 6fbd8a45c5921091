// Builds the example web client into a folder (default examples/web/dist-site): index.html
// and dist/main.js, the bundle of src/main.js with examples/js and the ACS Chat SDK.
//   node examples/web/build.mjs [out-folder]
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, "dist-site"));
await mkdir(out, { recursive: true });
await copyFile(join(here, "index.html"), join(out, "index.html"));
await build({
  entryPoints: [join(here, "src", "main.js")],
  outfile: join(out, "dist", "main.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2020",
  sourcemap: true,
  logLevel: "warning",
});
process.stdout.write(`built ${out}\n`);

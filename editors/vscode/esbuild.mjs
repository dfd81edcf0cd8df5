// Bundles the extension (Node, CommonJS, `vscode` external) and the chat
// page (browser, IIFE) into dist/; with --tests, the unit tests into out/unit/.
import * as esbuild from "esbuild";
import { readdirSync, rmSync } from "node:fs";

const args = new Set(process.argv.slice(2));
const watch = args.has("--watch");
const production = args.has("--production");

const common = {
  bundle: true,
  sourcemap: production ? false : "linked",
  minify: production,
  logLevel: "info",
  target: "es2022",
};

/** @type {esbuild.BuildOptions[]} */
let builds;
if (args.has("--tests")) {
  rmSync("out/unit", { recursive: true, force: true });
  const tests = readdirSync("test/unit")
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => `test/unit/${f}`);
  builds = [
    {
      ...common,
      entryPoints: tests,
      outdir: "out/unit",
      platform: "node",
      format: "cjs",
      sourcemap: "inline",
      // The tests never load VS Code: anything importing it would fail here.
      // The TypeScript compiler (protocolSchema.test.ts) stays in node_modules,
      // where it finds its lib.*.d.ts files.
      external: ["vscode", "typescript"],
      logLevel: "warning",
    },
  ];
} else {
  // A clean dist/: no stale source maps in a production .vsix.
  rmSync("dist", { recursive: true, force: true });
  builds = [
    {
      ...common,
      entryPoints: ["src/extension.ts"],
      outfile: "dist/extension.js",
      platform: "node",
      format: "cjs",
      external: ["vscode"],
    },
    {
      ...common,
      entryPoints: ["webview/main.ts"],
      outfile: "dist/webview.js",
      platform: "browser",
      format: "iife",
    },
  ];
}

if (watch) {
  for (const b of builds) {
    const ctx = await esbuild.context(b);
    await ctx.watch();
  }
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}

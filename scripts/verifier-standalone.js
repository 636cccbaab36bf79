// Writes the verifier page as one self-contained HTML file: its script and styles inline, nothing fetched.
// A page opened from disk (file://) may not load module scripts from other files (Chromium treats each
// file as its own origin), so the demo's report links to this copy; it works from any static host too.
//   node scripts/verifier-standalone.js [out.html]        (default: dist/web/verifier.html)
"use strict";
const { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { dirname, join, resolve } = require("node:path");

const WEB = join(__dirname, "..", "web");

/** Inline text in a <script> or <style> element: the only sequence that could end it early is escaped. */
function inlineText(text, element) {
  return text.replace(new RegExp(`</(${element})`, "gi"), "<\\/$1");
}

/** What the page imports that scripts write (ignored by git): written first when missing, as after `npm ci`. */
function writeGenerated() {
  const { execFileSync } = require("node:child_process");
  const { existsSync } = require("node:fs");
  if (!existsSync(join(WEB, "verifier", "known-deployments.json")))
    execFileSync(process.execPath, [join(__dirname, "known-deployments.js")], { stdio: "inherit" });
  if (!existsSync(join(WEB, "generated", "validators.js")))
    execFileSync(process.execPath, [join(__dirname, "web-validators.js")], { stdio: "inherit" });
}

/** Builds the verifier page into `outFile` as one file. Returns its size in bytes. */
async function buildStandaloneVerifier(outFile) {
  writeGenerated();
  const { build } = await import("vite");
  const outDir = mkdtempSync(join(tmpdir(), "iotrail-verifier-"));
  try {
    await build({
      configFile: false,
      root: WEB,
      base: "./",
      publicDir: false,
      logLevel: "warn",
      resolve: { alias: [{ find: /^\.\.\/json-schema$/, replacement: join(WEB, "json-schema.ts") }] },
      build: {
        outDir,
        emptyOutDir: true,
        target: "es2022",
        cssCodeSplit: false,
        modulePreload: false,
        assetsInlineLimit: Number.MAX_SAFE_INTEGER,
        chunkSizeWarningLimit: 2048,
        reportCompressedSize: false,
        rollupOptions: { input: join(WEB, "index.html"), output: { inlineDynamicImports: true } },
      },
    });
    let html = readFileSync(join(outDir, "index.html"), "utf8");
    const asset = (href) => readFileSync(join(outDir, href), "utf8");
    html = html.replace(
      /<script type="module" crossorigin src="\.\/([^"]+\.js)"><\/script>/g,
      (_, href) => `<script type="module">${inlineText(asset(href), "script")}</script>`,
    );
    html = html.replace(
      /<link rel="stylesheet" crossorigin href="\.\/([^"]+\.css)">/g,
      (_, href) => `<style>${inlineText(asset(href), "style")}</style>`,
    );
    const left = html.match(/(?:src|href)="\.\/[^"]*"/);
    if (left !== null) throw new Error(`verifier-standalone: ${left[0]} was not inlined`);
    mkdirSync(dirname(resolve(outFile)), { recursive: true });
    writeFileSync(outFile, html);
    return require("node:buffer").Buffer.byteLength(html);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

module.exports = { buildStandaloneVerifier };

if (require.main === module) {
  const out = process.argv[2] ?? join(__dirname, "..", "dist", "web", "verifier.html");
  buildStandaloneVerifier(out).then(
    (bytes) => console.log(`verifier page in one file: ${out} (${Math.round(bytes / 1024)} KiB)`),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}

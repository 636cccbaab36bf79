// The browser pages (the verifier), built with Vite into dist/web: plain static files with relative paths,
// so any static host and the batcher (at /) can serve them. Everything is bundled: no CDN, no external font.
import { resolve } from "node:path";
import { defineConfig } from "vite";

export default defineConfig({
  root: resolve(__dirname),
  base: "./",
  publicDir: false,
  build: {
    outDir: resolve(__dirname, "..", "dist", "web"),
    emptyOutDir: true,
    target: "es2022",
    reportCompressedSize: true,
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      input: { index: resolve(__dirname, "index.html"), operator: resolve(__dirname, "operator.html") },
    },
  },
  resolve: {
    // Schemas are validated by precompiled code in the page (its content security policy forbids eval).
    alias: [{ find: /^\.\.\/json-schema$/, replacement: resolve(__dirname, "json-schema.ts") }],
  },
});

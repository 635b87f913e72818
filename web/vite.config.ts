/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Plugin } from "vite";

// Swagger UI for /api/docs, served from web/dist/swagger-ui/ (the API's OPENAPI_SWAGGER_UI_URL):
// an intranet deployment has no CDN to load it from.
function swaggerUi(): Plugin {
  const files = ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"];
  return {
    name: "copy-swagger-ui",
    apply: "build",
    closeBundle() {
      const from = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
      const to = join(__dirname, "dist", "swagger-ui");
      mkdirSync(to, { recursive: true });
      for (const f of files) copyFileSync(join(from, f), join(to, f));
    },
  };
}

// The dev server proxies the API to Flask so the session cookie stays same-origin, exactly as
// in production where Flask serves web/dist itself.
const api = process.env.API_URL ?? "http://127.0.0.1:5000";

export default defineConfig({
  plugins: [react(), swaggerUi()],
  server: {
    port: 5173,
    proxy: { "/api": { target: api, changeOrigin: false } },
  },
  build: {
    outDir: "dist",
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});

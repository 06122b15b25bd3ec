import { defineConfig } from "vite";

// Relative asset paths: the same build is served at / by `barometer up` and from any prefix on AWS.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 400,
  },
  server: { host: "127.0.0.1" },
});

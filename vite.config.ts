import { defineConfig } from 'vite';

// The dashboard (web/) is built into dist/web, which the package ships ("files": dist) and
// `shopctl serve` serves at / (src/server/assets.ts). Everything is bundled: nothing is fetched
// from elsewhere at run time.
export default defineConfig({
  root: 'web',
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 200,
  },
  server: {
    // `npx vite` (development) against a running `shopctl serve` on 8080.
    proxy: { '^/(events|stock|sales|products|healthz|analytics|openapi\\.json)': 'http://127.0.0.1:8080' },
  },
});

/// <reference types="vitest" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { antdStaticCss } from './antd-static-css';

// `npm run dev` serves the console with hot reload and sends the API (and the SDK ingestion
// routes, for trying snippets) to a `userops serve` on port 8000.
const backend = process.env.USEROPS_BACKEND ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react(), antdStaticCss()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        // Vendor code changes less often than the console: separate files cache separately.
        // By module path, not by package name: naming `antd` would put the package's whole
        // index, every component, into its chunk, and tree-shaking would keep none out.
        manualChunks(id: string) {
          const vendor = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(id)?.[1];
          if (!vendor) return undefined;
          // React stays with the components that import it: apart, the two chunks would
          // import each other.
          return /^(echarts|zrender)$/.test(vendor) ? 'echarts' : 'vendor';
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': { target: backend, changeOrigin: false },
    },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test-setup.ts'],
    css: false,
  },
});

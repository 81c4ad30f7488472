// Builds the web app into web/dist, which the node serves at /. Built by `npm run build:web`
// (run by `npm ci` through `prepare`).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 500,
  },
});

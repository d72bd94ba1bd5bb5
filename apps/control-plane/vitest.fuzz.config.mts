import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// NestJS dependency injection needs emitDecoratorMetadata, which esbuild lacks: use swc.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: { include: ['test/fuzz/**/*.fuzz-spec.ts'], testTimeout: 300_000, hookTimeout: 60_000 },
});

import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { integrationTest } from '../../vitest.integration.shared.mts';

// NestJS dependency injection needs emitDecoratorMetadata, which esbuild lacks: use swc.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: integrationTest,
});

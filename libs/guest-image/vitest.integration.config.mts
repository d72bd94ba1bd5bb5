import { defineConfig } from 'vitest/config';
import { integrationTest } from '../../vitest.integration.shared.mts';

export default defineConfig({ test: integrationTest });

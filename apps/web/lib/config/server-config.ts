import { parsePublicRuntimeConfig, type PublicRuntimeConfig } from './runtime-config';

let cached: PublicRuntimeConfig | undefined;

/**
 * The web server's config, read from its environment on first use. Called only while
 * rendering (never at module load), so `next build` does not need the serving environment.
 */
export function publicRuntimeConfig(): PublicRuntimeConfig {
  cached ??= parsePublicRuntimeConfig(process.env);
  return cached;
}

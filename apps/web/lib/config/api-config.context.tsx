'use client';

import { createContext, useCallback, useContext, type ReactNode } from 'react';
import { resolveApiBase, type PublicRuntimeConfig } from './runtime-config';

const ApiConfigContext = createContext<PublicRuntimeConfig | null>(null);

/** Hands the server's runtime config (rendered by the root layout) to client components. */
export function ApiConfigProvider({ config, children }: { config: PublicRuntimeConfig; children: ReactNode }) {
  return <ApiConfigContext.Provider value={config}>{children}</ApiConfigContext.Provider>;
}

/**
 * Returns a function giving the API base URL. It reads `window.location`, so call it in
 * event handlers and effects only, never while rendering on the server.
 */
export function useApiBase(): () => string {
  const config = useContext(ApiConfigContext);
  if (!config) throw new Error('useApiBase must be used inside ApiConfigProvider');
  return useCallback(() => resolveApiBase(config, window.location), [config]);
}

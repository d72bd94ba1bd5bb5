/**
 * Where the browser finds the control plane, decided when the web server starts rather than
 * when it is built: one build serves every deployment and test harness, each with its own
 * ports. Only public values belong here, because they are rendered into every page.
 */
export interface PublicRuntimeConfig {
  /** Full API base URL (MOAT_PUBLIC_API_URL), for deployments behind a proxy or another host. */
  apiUrl: string | null;
  /** API port (MOAT_API_PORT) on the host the page was loaded from, used when apiUrl is null. */
  apiPort: number;
  /**
   * The API port speaks HTTPS only (the control plane's MOAT_TLS_CERT is set), so the page
   * calls it over https:// and wss:// even when the page itself came over plain HTTP.
   */
  apiTls: boolean;
}

const DEFAULT_API_PORT = 8080;

/** Reads and validates the public config from an environment, listing every problem at once. */
export function parsePublicRuntimeConfig(env: Record<string, string | undefined>): PublicRuntimeConfig {
  const problems: string[] = [];

  let apiUrl: string | null = null;
  const rawUrl = env.MOAT_PUBLIC_API_URL?.trim();
  if (rawUrl) {
    try {
      const url = new URL(rawUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        problems.push(`MOAT_PUBLIC_API_URL must be an http(s) URL, got "${rawUrl}"`);
      }
      // The client appends "/v1/..." and "/ui" itself.
      apiUrl = url.href.replace(/\/+$/, '');
    } catch {
      problems.push(`MOAT_PUBLIC_API_URL is not a URL: "${rawUrl}"`);
    }
  }

  let apiPort = DEFAULT_API_PORT;
  const rawPort = env.MOAT_API_PORT?.trim();
  if (rawPort) {
    apiPort = Number(rawPort);
    if (!/^\d+$/.test(rawPort) || apiPort < 1 || apiPort > 65_535) {
      problems.push(`MOAT_API_PORT must be a port number (1-65535), got "${rawPort}"`);
    }
  }

  if (problems.length > 0) throw new Error(`Invalid web configuration:\n- ${problems.join('\n- ')}`);
  return { apiUrl, apiPort, apiTls: Boolean(env.MOAT_TLS_CERT?.trim()) };
}

/** The API base URL as seen from a page loaded at `location`. */
export function resolveApiBase(
  config: PublicRuntimeConfig,
  location: Pick<Location, 'protocol' | 'hostname'>,
): string {
  if (config.apiUrl) return config.apiUrl;
  // URL.hostname keeps IPv6 literals bracketed, so it can be joined with a port as is.
  return `${config.apiTls ? 'https:' : location.protocol}//${location.hostname}:${config.apiPort}`;
}

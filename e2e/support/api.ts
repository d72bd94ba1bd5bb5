/** A small REST client for the e2e tests, speaking to the stack e2e/run.mjs started. */
export const API_URL = requiredEnv('MOAT_E2E_API_URL');
export const ADMIN_TOKEN = requiredEnv('MOAT_E2E_ADMIN_TOKEN');
export const DATA_DIR = requiredEnv('MOAT_E2E_DATA_DIR');
/** The stack's node agent serves Prometheus metrics here. */
export const NODE_METRICS_URL = requiredEnv('MOAT_E2E_NODE_METRICS_URL');

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the e2e tests through e2e/run.mjs`);
  return value;
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; rawBody?: string } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined || opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = opts.rawBody ?? JSON.stringify(opts.body);
  }
  const res = await fetch(`${API_URL}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Polls until `check` returns a value (REST clients have no other way to wait). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

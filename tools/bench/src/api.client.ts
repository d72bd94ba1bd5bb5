/** The REST API as one caller: the admin or a tenant's key. Its functions need no `this`. */
export interface ApiClient {
  /** Calls the API; rejects on any status other than `expect`. */
  call: <T>(method: string, path: string, body?: unknown, expect?: number) => Promise<T>;
  /** GETs a resource; undefined when the API answers 404 (it is gone). */
  find: <T>(path: string) => Promise<T | undefined>;
}

export function apiClient(url: string, token: string): ApiClient {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const send = async (method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  };
  return {
    async call<T>(method: string, path: string, body?: unknown, expect = 200): Promise<T> {
      const { status, text } = await send(method, path, body);
      if (status !== expect) throw new Error(`${method} ${path}: ${status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async find<T>(path: string): Promise<T | undefined> {
      const { status, text } = await send('GET', path);
      if (status === 404) return undefined;
      if (status !== 200) throw new Error(`GET ${path}: ${status} ${text}`);
      return JSON.parse(text) as T;
    },
  };
}

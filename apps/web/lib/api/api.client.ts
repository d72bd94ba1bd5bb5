import type { CreateSandboxRequest, ExecRequest, ExecResult, FleetNode, Sandbox } from '../types';
import { toApiError } from './api-error';

/** Typed access to the control plane's REST API with one bearer token. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  listNodes(): Promise<FleetNode[]> {
    return this.request('GET', '/v1/nodes');
  }

  listSandboxes(): Promise<Sandbox[]> {
    return this.request('GET', '/v1/sandboxes');
  }

  createSandbox(req: CreateSandboxRequest): Promise<Sandbox> {
    return this.request('POST', '/v1/sandboxes', req);
  }

  exec(sandboxId: string, req: ExecRequest): Promise<ExecResult> {
    return this.request('POST', `/v1/sandboxes/${encodeURIComponent(sandboxId)}/exec`, req);
  }

  /** Resolves once deletion is accepted (202); the sandbox disappears later, by event. */
  async deleteSandbox(sandboxId: string): Promise<void> {
    await this.request('DELETE', `/v1/sandboxes/${encodeURIComponent(sandboxId)}`);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
    const text = await res.text();
    const parsed: unknown = text ? safeJson(text) : undefined;
    if (!res.ok) throw toApiError(res.status, res.statusText, parsed);
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A request the fake control plane received, its body parsed (JSON) or as text (anything else). */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | null;
  accept: string | null;
  body: unknown;
}

type Reply = { status: number; body?: unknown } | { status: number; text: string } | { status: number; eventStream: string };

/**
 * A stand-in for the control plane behind `fetch`: answers each `METHOD /path` with the
 * replies queued for it, in order (the last one again when they run out), and records requests.
 */
export class FakeApi {
  readonly seen: SeenRequest[] = [];
  private readonly replies = new Map<string, Reply[]>();

  reply(route: string, ...replies: Reply[]): this {
    this.replies.set(route, replies);
    return this;
  }

  readonly fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const text = await request.text();
    this.seen.push({
      method: request.method,
      path: url.pathname,
      query: url.searchParams,
      authorization: request.headers.get('Authorization'),
      accept: request.headers.get('Accept'),
      body: text ? (request.headers.get('Content-Type')?.includes('json') ? JSON.parse(text) : text) : undefined,
    });
    const queued = this.replies.get(`${request.method} ${url.pathname}`);
    const reply = queued && (queued.length > 1 ? queued.shift() : queued[0]);
    if (!reply) return Response.json({ error: { code: 'NOT_FOUND', message: 'no such route in the fake' } }, { status: 404 });
    if ('eventStream' in reply) return new Response(reply.eventStream, { status: reply.status, headers: { 'Content-Type': 'text/event-stream' } });
    if ('text' in reply) return new Response(reply.text, { status: reply.status, headers: { 'Content-Type': 'text/html' } });
    return reply.body === undefined ? new Response(null, { status: reply.status }) : Response.json(reply.body, { status: reply.status });
  };
}

import fc from 'fast-check';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApp, type DatabaseKind, type TestApp } from '../integration/support/harness';
import { RawClient, type Reply } from './support/client';
import { createFixtures, type Setup } from './support/fixtures';
import { errorCodesOf, routesOf, type OpenApiDocument, type Route } from './support/openapi';
import { RequestArbitraries, type FuzzRequest } from './support/requests';
import { verdict } from './support/verdict';

/**
 * Reads the OpenAPI document the control plane serves and sends every route generated
 * requests (odd-but-valid and invalid path parameters, query strings, bodies and tokens),
 * as a tenant and as the admin, with no node connected. Any 5xx the route does not document,
 * any error body that is not `{ error: { code, message } }`, or /healthz going quiet fails the
 * run. `MOAT_FUZZ_SEED` replays a run, `MOAT_FUZZ_REQUESTS` changes its size, and
 * `MOAT_FUZZ_DATABASE=postgres` runs it on the TEST_DATABASE_URL server instead of SQLite.
 */
const SEED = process.env.MOAT_FUZZ_SEED ? Number(process.env.MOAT_FUZZ_SEED) : randomInt(2 ** 31);
if (!Number.isSafeInteger(SEED)) throw new Error(`MOAT_FUZZ_SEED must be an integer, not ${process.env.MOAT_FUZZ_SEED}`);
const TOTAL = Number(process.env.MOAT_FUZZ_REQUESTS ?? 12_000);
const DATABASE: DatabaseKind = process.env.MOAT_FUZZ_DATABASE === 'postgres' ? 'postgres' : 'sqlite';
/** Requests in flight at once. */
const CONNECTIONS = 8;
/** /healthz is asked after every batch this large. */
const BATCH = 1_000;
/** Share of the requests aimed at no documented route. */
const STRAY_SHARE = 0.03;
const HEALTH_TIMEOUT_MS = 10_000;

interface Failure {
  request: FuzzRequest;
  reply?: Reply;
  problem: string;
}

/** A stable 32-bit seed for one stream of requests, so adding a route leaves the others alone. */
function seedFor(seed: number, stream: string): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < stream.length; i++) hash = Math.imul(hash ^ stream.charCodeAt(i), 0x01000193);
  return hash | 0;
}

/** One request of each stream in turn, so that state changes of every route mix. */
function interleave<T>(streams: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; streams.some((stream) => i < stream.length); i++) {
    for (const stream of streams) if (i < stream.length) out.push(stream[i]);
  }
  return out;
}

function excerpt(text: string | Buffer | undefined, max = 300): string {
  if (text === undefined) return '';
  const s = text.toString();
  return s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
}

describe('REST API under generated hostile requests', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp(DATABASE);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it(`answers ${TOTAL} generated requests without an undocumented 5xx, always with the standard error body`, async () => {
    console.log(`[fuzz] seed ${SEED} on ${DATABASE}: MOAT_FUZZ_SEED=${SEED} replays this run`);
    const started = Date.now();
    const doc = (await (await fetch(`${t.baseUrl}/docs-json`)).json()) as OpenApiDocument;
    const routes = routesOf(doc);
    const codes = errorCodesOf(doc);
    const setup: Setup = await createFixtures(t.baseUrl, t.adminToken);
    const generate = new RequestArbitraries(doc, setup.fixtures);

    const perRoute = Math.ceil((TOTAL * (1 - STRAY_SHARE)) / routes.length);
    const streams = routes.map((route) =>
      fc.sample(generate.forRoute(route), { seed: seedFor(SEED, `${route.method} ${route.path}`), numRuns: perRoute }),
    );
    streams.push(fc.sample(generate.stray(Object.keys(doc.paths)), { seed: seedFor(SEED, 'stray'), numRuns: Math.ceil(TOTAL * STRAY_SHARE) }));
    const requests = interleave(streams);
    const routeOf = new Map<string, Route>(routes.map((route) => [`${route.method} ${route.path}`, route]));

    const client = new RawClient(t.baseUrl, CONNECTIONS);
    const statuses = new Map<number, number>();
    const byRoute = new Map<string, Map<number, number>>();
    const failures: Failure[] = [];
    const tokens = { tenant: setup.tenantKey, admin: t.adminToken, otherTenant: setup.otherTenantKey };

    const sendOne = async (request: FuzzRequest): Promise<void> => {
      const headers = { ...request.headers };
      if (typeof request.caller === 'object') headers.authorization = request.caller.authorization;
      else if (request.caller !== 'anonymous') headers.authorization = `Bearer ${tokens[request.caller]}`;
      let reply: Reply;
      try {
        reply = await client.send(request.method, request.path, headers, request.body);
      } catch (err) {
        failures.push({ request, problem: `no answer: ${(err as Error).message}` });
        return;
      }
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      const counts = byRoute.get(request.route) ?? new Map<number, number>();
      counts.set(reply.status, (counts.get(reply.status) ?? 0) + 1);
      byRoute.set(request.route, counts);
      const problem = verdict(request.method, routeOf.get(request.route), reply, codes);
      if (problem) failures.push({ request, reply, problem });
    };

    /** Why the run cannot go on, or undefined. */
    const stopReason = async (after: number): Promise<string | undefined> => {
      const res = await fetch(`${t.baseUrl}/healthz`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) }).catch((err: unknown) => err as Error);
      if (res instanceof Error || res.status !== 200) {
        return `/healthz stopped answering after ${after} requests: ${res instanceof Error ? res.message : res.status}`;
      }
      // The fuzzer never revokes its own key; if it stops working, the run means nothing.
      const me = await fetch(`${t.baseUrl}/v1/me`, { headers: { authorization: `Bearer ${setup.tenantKey}` } });
      return me.status === 200 ? undefined : `the fuzzer's tenant key stopped working after ${after} requests (${me.status})`;
    };

    let stopped: string | undefined;
    for (let start = 0; start < requests.length && stopped === undefined; start += BATCH) {
      const batch = requests.slice(start, start + BATCH);
      let next = 0;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (next < batch.length) await sendOne(batch[next++]);
        }),
      );
      stopped = await stopReason(start + batch.length);
    }
    client.close();

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const histogram = [...statuses.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`);
    const perRouteLines = [...byRoute.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, counts]) => `  ${route.padEnd(48)} ${[...counts.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);
    console.log(
      [
        `[fuzz] seed ${SEED}: ${requests.length} requests to ${routes.length} routes (+ stray) in ${seconds} s, ${failures.length} failures`,
        `[fuzz] statuses: ${histogram.join(', ')}`,
        '[fuzz] by route:',
        ...perRouteLines,
      ].join('\n'),
    );
    // One example of each kind of failure, so that a run with many shows them all.
    const kinds = new Map<string, { count: number; example: Failure }>();
    for (const failure of failures) {
      const kind = `${failure.problem} on ${failure.request.route}`;
      const known = kinds.get(kind);
      if (known) known.count++;
      else kinds.set(kind, { count: 1, example: failure });
    }
    const shown = [...kinds.entries()].map(
      ([kind, { count, example: { request, reply } }]) =>
        `${count}× ${kind}, e.g.\n    ${request.method} ${excerpt(request.path, 200)} as ${JSON.stringify(request.caller)} ${JSON.stringify(request.headers)}\n` +
        `    body: ${excerpt(request.body)}\n    answer: ${reply ? `${reply.status} ${excerpt(reply.text)}` : '-'}`,
    );
    expect({ seed: SEED, failureKinds: shown, stopped }).toEqual({ seed: SEED, failureKinds: [], stopped: undefined });
    // Every documented route was reached (and the stray requests went out).
    expect([...byRoute.keys()].sort()).toEqual([...routeOf.keys(), 'stray'].sort());
  });
});

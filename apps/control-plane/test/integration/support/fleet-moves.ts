import type { DesiredSandbox, ErrorInfo } from '@moat/proto';
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import { eventually } from '@moat/test-support';
import { bodyOf, startApp, type DatabaseKind, type TestApp } from './harness';
import { awaitNodesDownAndDeleteSandboxes, bearer } from './opened';
import { AGENT_SIZING, TestAgent } from './test-agent';

/** A sandbox as the API shows it, what specs moving sandboxes between nodes look at. */
export interface MovedSandbox {
  id: string;
  nodeId: string | null;
  state: string;
  ip?: string | null;
  events: { at: string; state: string; reason?: ErrorInfo }[];
}

/** What a spec moving sandboxes between fake nodes uses: the app, its tenant, and its helpers. */
export interface FleetMoves {
  readonly t: TestApp;
  readonly tenant: { id: string; apiKey: string };
  /** A fake node with this capacity, connected and said hello; closed after the test. */
  agent(capacity?: { vcpus: number; memoryMiB: number }): Promise<TestAgent>;
  /** The sandbox once the API shows it so. */
  reaches(id: string, expected: Partial<MovedSandbox>): Promise<MovedSandbox>;
}

/**
 * For a `describe` body of specs moving sandboxes between fake nodes: one app and tenant for all
 * of them; after each test its nodes are closed and, once down, every sandbox deleted. `env`
 * adds to the app's configuration.
 */
export function fleetMoves(kind: DatabaseKind, skip: boolean, tenantName: string, env: Record<string, string> = {}): FleetMoves {
  let t: TestApp | undefined;
  let tenant: { id: string; apiKey: string } | undefined;
  let agents: TestAgent[] = [];
  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind, env);
    tenant = bodyOf(await t.api().post('/v1/tenants').set(t.admin()).send({ name: tenantName }).expect(201));
  });
  afterEach(async () => {
    agents.forEach((agent) => agent.close());
    agents = [];
    if (!skip && t) await awaitNodesDownAndDeleteSandboxes(t);
  });
  afterAll(async () => {
    await t?.close();
  });
  const fixture: FleetMoves = {
    get t() {
      return t as TestApp;
    },
    get tenant() {
      return tenant as { id: string; apiKey: string };
    },
    async agent(capacity = { vcpus: 4, memoryMiB: 8192 }) {
      const connected = await TestAgent.connect(fixture.t.baseUrl, fixture.t.adminToken);
      agents.push(connected);
      expect(await connected.hello({ capacity, ...AGENT_SIZING })).toMatchObject({ ok: true });
      return connected;
    },
    reaches(id, expected) {
      return eventually(async () => {
        const found = bodyOf<MovedSandbox>(await fixture.t.api().get(`/v1/sandboxes/${id}`).set(bearer(fixture.tenant)).expect(200));
        expect(found).toMatchObject(expected);
        return found;
      });
    },
  };
  return fixture;
}

/** The sandbox's entry in the node's latest desired set (undefined: not in it), once `predicate` holds for it. */
export async function desiredEntry(node: TestAgent, id: string, predicate: (entry: DesiredSandbox | undefined) => boolean): Promise<DesiredSandbox | undefined> {
  const latest = await node.desiredWhere(() => predicate(node.desired.at(-1)?.sandboxes.find((s) => s.id === id)));
  return latest.sandboxes.find((s) => s.id === id);
}

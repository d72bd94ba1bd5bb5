import type { DesiredState, TenantNetworkPlan } from '@moat/proto';
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  tenantId: string;
  nodeId: string | null;
  ip: string | null;
  deploymentId: string | null;
}

const NODE_ONE = '192.0.2.1';
const NODE_TWO = '192.0.2.2';
const BIG_NODE = { capacity: { vcpus: 500, memoryMiB: 500_000 } };

/** The dotted quad as a number, to check it lies in a subnet. */
function toNumber(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function inSubnet(address: string, subnet: string): boolean {
  const [base, prefix] = subnet.split('/');
  const size = 2 ** (32 - Number(prefix));
  const offset = toNumber(address) - toNumber(base);
  // Neither the network address, the gateway (first host) nor the broadcast address.
  return offset >= 2 && offset < size - 1;
}

function planOf(state: DesiredState | undefined, tenantId: string): TenantNetworkPlan | undefined {
  return state?.networks?.find((network) => network.tenantId === tenantId);
}

// A /25 pool of /27s: four tenant networks of 29 sandbox addresses each, so running out of
// both is cheap to reach.
describe.each(DATABASES)('tenant networks planned for the fleet on $label', ({ kind, skip }) => {
  let t: TestApp;
  let one: TestAgent;
  const agents: TestAgent[] = [];
  const as = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
  const tenants: Record<string, { id: string; key: string }> = {};

  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind, { MOAT_RECONCILE_INTERVAL_MS: '100', MOAT_NET_SUBNET_POOL: '10.99.0.0/25', MOAT_NET_TENANT_PREFIX: '27' });
    for (const name of ['alpha', 'beta', 'gamma', 'delta', 'epsilon']) {
      const created = bodyOf<{ id: string; apiKey: string }>(
        await t.api()
          .post('/v1/tenants')
          .set(t.admin())
          // gamma's quota is as tight as its network (29 addresses), so a refusal that still counted against it would show.
          .send({ name, quota: { maxSandboxes: name === 'gamma' ? 30 : 100, maxVcpus: 400, maxMemoryMiB: 400_000 } })
          .expect(201),
      );
      tenants[name] = { id: created.id, key: created.apiKey };
    }
    one = await TestAgent.connect(t.baseUrl, t.adminToken);
    agents.push(one);
    one.simulate();
    await one.hello({ ...BIG_NODE, address: NODE_ONE });
  });
  afterAll(async () => {
    agents.forEach((a) => a.close());
    await t?.close();
  });

  async function sandboxesOf(tenant: string): Promise<Sandbox[]> {
    return bodyOf<Sandbox[]>(await t.api().get('/v1/sandboxes').set(as(tenants[tenant].key)).expect(200));
  }

  itIf(!skip)('gives concurrent sandboxes and replicas of two tenants distinct addresses in distinct subnets', async () => {
    const { alpha, beta } = tenants;
    const templates = await Promise.all(
      [alpha, beta].map(async ({ key }) =>
        bodyOf<{ id: string }>(await t.api().post('/v1/templates').set(as(key)).send({ name: 'svc', vcpus: 1, memoryMiB: 128 }).expect(201)).id,
      ),
    );
    // Scheduler admissions and deployment replicas of both tenants, all at once.
    await Promise.all([
      ...[alpha, beta].flatMap(({ key }) =>
        Array.from({ length: 10 }, () => t.api().post('/v1/sandboxes').set(as(key)).send({ vcpus: 1, memoryMiB: 128 }).expect(201)),
      ),
      ...[alpha, beta].map(({ key }, i) =>
        t.api().post('/v1/deployments').set(as(key)).send({ templateId: templates[i], replicas: 6, strategy: { type: 'rolling' } }).expect(201),
      ),
      t.api().post('/v1/sandboxes').set(as(alpha.key)).send({ network: false }).expect(201),
    ]);
    await eventually(async () => {
      for (const tenant of ['alpha', 'beta']) expect((await sandboxesOf(tenant)).filter((s) => s.deploymentId).length).toBe(6);
    }, { timeout: 20_000 });

    const state = await one.desiredWhere((ids) => ids.length === 33);
    const plans = [alpha, beta].map(({ id }) => planOf(state, id));
    const [alphaPlan, betaPlan] = plans;
    if (!alphaPlan || !betaPlan) throw new Error(`no networks in ${JSON.stringify(state.networks)}`);
    expect(alphaPlan.vni).not.toBe(betaPlan.vni);
    expect(alphaPlan.subnet).not.toBe(betaPlan.subnet);
    expect(new Set([alphaPlan.subnet, betaPlan.subnet])).toEqual(new Set(['10.99.0.0/27', '10.99.0.32/27']));
    for (const plan of plans) expect(plan?.gateway).toBe(`10.99.0.${plan?.subnet === '10.99.0.0/27' ? 1 : 33}`);
    // Only this node holds them: no peers yet; its own address is the one its hello named.
    expect(one.peersHeld(alpha.id)).toEqual([]);
    expect(state.underlayAddress).toBe(NODE_ONE);

    for (const [tenant, plan] of [['alpha', alphaPlan], ['beta', betaPlan]] as const) {
      const sandboxes = (await sandboxesOf(tenant)).filter((s) => s.ip !== null);
      expect(sandboxes).toHaveLength(16);
      expect(new Set(sandboxes.map((s) => s.ip)).size).toBe(16);
      for (const sandbox of sandboxes) expect(inSubnet(sandbox.ip as string, plan.subnet)).toBe(true);
      // The desired set carries the same addresses the API shows.
      const desired = new Map(state.sandboxes.map((s) => [s.id, s.address]));
      for (const sandbox of sandboxes) expect(desired.get(sandbox.id)).toBe(sandbox.ip);
    }
    const offline = (await sandboxesOf('alpha')).filter((s) => s.ip === null);
    expect(offline).toHaveLength(1);
    expect(state.sandboxes.find((s) => s.id === offline[0].id)?.address).toBeUndefined();
  });

  itIf(!skip)('tells a tenant’s nodes of each other when a second node gets its first sandbox, and only then', async () => {
    const { alpha, beta } = tenants;
    const two = await TestAgent.connect(t.baseUrl, t.adminToken);
    agents.push(two);
    two.simulate();
    await two.hello({ ...BIG_NODE, address: NODE_TWO });
    await t.api().post(`/v1/nodes/${one.nodeId}/cordon`).set(t.admin()).expect(200);
    const alphaBefore = (await sandboxesOf('alpha')).length;
    const setsOfOne = one.desired.length;

    const first = bodyOf<Sandbox>(await t.api().post('/v1/sandboxes').set(as(alpha.key)).send({}).expect(201));
    expect(first.nodeId).toBe(two.nodeId);
    const onTwo = await two.desiredWhere((ids) => ids.includes(first.id));
    expect(planOf(onTwo, alpha.id)?.peers).toEqual([NODE_ONE]);
    expect(onTwo.underlayAddress).toBe(NODE_TWO);
    // Node one runs nothing new, so its desired set is not sent again; but it is told alpha's
    // new peers (every node's address, its own left out by the node), which now name node two.
    await eventually(() => Promise.resolve(expect(one.peersHeld(alpha.id)).toEqual([NODE_TWO])));
    expect(one.tenantPeers.at(-1)).toEqual({ tenantId: alpha.id, peers: [NODE_ONE, NODE_TWO] });
    expect(one.desired.length).toBe(setsOfOne);
    // Beta's did not change, so they are not sent again: node one keeps none.
    expect(one.tenantPeers.some((update) => update.tenantId === beta.id)).toBe(false);
    expect(one.peersHeld(beta.id)).toEqual([]);

    // A second sandbox on a node already in the set changes nobody's peers: node one hears
    // nothing, and node two's new set names no peers (it keeps those it has).
    const heardByOne = one.desired.length + one.tenantPeers.length;
    const second = bodyOf<Sandbox>(await t.api().post('/v1/sandboxes').set(as(alpha.key)).send({}).expect(201));
    const withSecond = await two.desiredWhere((ids) => ids.includes(second.id));
    expect(one.desired.length + one.tenantPeers.length).toBe(heardByOne);
    expect(planOf(withSecond, alpha.id)?.peers).toBeUndefined();
    expect(two.peersHeld(alpha.id)).toEqual([NODE_ONE]);

    // Node two leaves alpha's set: node one's peers follow.
    for (const sandbox of [first, second]) await t.api().delete(`/v1/sandboxes/${sandbox.id}`).set(as(alpha.key)).expect(202);
    await eventually(() => Promise.resolve(expect(one.peersHeld(alpha.id)).toEqual([])));
    await eventually(async () => expect((await sandboxesOf('alpha')).length).toBe(alphaBefore));
    await t.api().post(`/v1/nodes/${one.nodeId}/uncordon`).set(t.admin()).expect(200);
  });

  itIf(!skip)('refuses a sandbox when its tenant network is full, and reuses an address once its sandbox is gone', async () => {
    const { gamma } = tenants;
    // 29 addresses in a /27 (less network, gateway and broadcast).
    const created = await Promise.all(
      Array.from({ length: 29 }, async () => bodyOf<Sandbox>(await t.api().post('/v1/sandboxes').set(as(gamma.key)).send({}).expect(201))),
    );
    const addresses = created.map((s) => s.ip as string).sort((a, b) => toNumber(a) - toNumber(b));
    expect(new Set(addresses).size).toBe(29);
    expect(addresses[0]).toBe('10.99.0.66');
    expect(addresses.at(-1)).toBe('10.99.0.94');

    for (let i = 0; i < 3; i += 1) {
      const full = await t.api().post('/v1/sandboxes').set(as(gamma.key)).send({}).expect(409);
      expect(full.body).toEqual({ error: { code: 'TENANT_NETWORK_FULL', message: expect.stringContaining('10.99.0.64/27') } });
    }

    const freed = created.find((s) => s.ip === '10.99.0.70') as Sandbox;
    await t.api().delete(`/v1/sandboxes/${freed.id}`).set(as(gamma.key)).expect(202);
    // Its address is free once its row is gone (after its node reported it gone).
    const again = await eventually(async () => bodyOf<Sandbox>(await t.api().post('/v1/sandboxes').set(as(gamma.key)).send({}).expect(201)), {
      timeout: 10_000,
    });
    expect(again.ip).toBe('10.99.0.70');
  });

  itIf(!skip)('creates no replica on a full tenant network, keeps reconciling, and creates it once an address is free', async () => {
    const { gamma, beta } = tenants;
    const template = bodyOf<{ id: string }>(
      await t.api().post('/v1/templates').set(as(gamma.key)).send({ name: 'svc', vcpus: 1, memoryMiB: 128 }).expect(201),
    ).id;
    const deployment = bodyOf<{ id: string }>(
      await t.api().post('/v1/deployments').set(as(gamma.key)).send({ templateId: template, replicas: 1, strategy: { type: 'rolling' } }).expect(201),
    ).id;
    // Other deployments are still reconciled: beta's scales up meanwhile.
    const [betaDeployment] = (await sandboxesOf('beta')).filter((s) => s.deploymentId).map((s) => s.deploymentId as string);
    await t.api().patch(`/v1/deployments/${betaDeployment}`).set(as(beta.key)).send({ replicas: 7 }).expect(200);
    await eventually(async () => expect((await sandboxesOf('beta')).filter((s) => s.deploymentId).length).toBe(7), { timeout: 10_000 });
    expect((await sandboxesOf('gamma')).filter((s) => s.deploymentId === deployment)).toEqual([]);

    const [victim] = (await sandboxesOf('gamma')).filter((s) => !s.deploymentId);
    await t.api().delete(`/v1/sandboxes/${victim.id}`).set(as(gamma.key)).expect(202);
    await eventually(async () => {
      const replicas = (await sandboxesOf('gamma')).filter((s) => s.deploymentId === deployment);
      expect(replicas.map((s) => s.ip)).toEqual([victim.ip]);
    }, { timeout: 10_000 });
  });

  itIf(!skip)('takes a node’s underlay address from its connection when its hello names none', async () => {
    const three = await TestAgent.connect(t.baseUrl, t.adminToken);
    agents.push(three);
    await three.hello();
    // Whatever it is given (a replica an earlier test's deployment still places may land on it).
    const state = await three.desiredWhere(() => true);
    expect(state.underlayAddress).toBe('127.0.0.1');
  });

  itIf(!skip)('answers 503 NETWORK_POOL_EXHAUSTED when the pool has no subnet for another tenant', async () => {
    await t.api().post('/v1/sandboxes').set(as(tenants.delta.key)).send({}).expect(201);
    const refused = await t.api().post('/v1/sandboxes').set(as(tenants.epsilon.key)).send({}).expect(503);
    expect(refused.body).toEqual({ error: { code: 'NETWORK_POOL_EXHAUSTED', message: expect.stringContaining('10.99.0.0/25') } });
    // A tenant without a network can still create sandboxes without one.
    await t.api().post('/v1/sandboxes').set(as(tenants.epsilon.key)).send({ network: false }).expect(201);
  });
});

import { describe, expect, it } from '@jest/globals';
import { desiredSandboxSchema } from '../fleet/sandbox-desired.schemas';
import { sessionInputSchema } from '../fleet/session.schemas';
import { AGENT_KILL_GRACE_MS, EXEC_DEFAULT_REPLY_WAIT_MS, EXEC_DEFAULT_TIMEOUT_MS, EXEC_REPLY_MARGIN_MS } from './process.limits';
import { API_MAX_MEMORY_MIB, API_MAX_VCPUS, API_MIN_MEMORY_MIB, MAX_VCPUS } from './sandbox.limits';
import { ATTACH_REPLY_TIMEOUT_MS, MAX_SESSION_CHUNK_BYTES, SESSION_REQUEST_TIMEOUT_MS } from './session.limits';
import { AGENT_CALL_TIMEOUT_MS, MAX_FLEET_MESSAGE_BYTES, NODE_REQUEST_TIMEOUT_MS } from './fleet.limits';
import { MAX_LOGS_PAGE_BYTES, MAX_LOGS_WAIT_MS } from './logs.limits';

const desired = (vcpus: number, memoryMiB: number) =>
  desiredSandboxSchema.safeParse({ id: '6a1f3c2e-9b8d-4e7f-a6b5-c4d3e2f1a0b9', vcpus, memoryMiB, env: {}, labels: {} }).success;

describe('limits agreed between processes', () => {
  it('lets a node take every sandbox size the API accepts', () => {
    for (const vcpus of [1, API_MAX_VCPUS]) for (const memory of [API_MIN_MEMORY_MIB, API_MAX_MEMORY_MIB]) expect(desired(vcpus, memory)).toBe(true);
    expect(desired(MAX_VCPUS + 1, API_MIN_MEMORY_MIB)).toBe(false);
  });

  it('has the control plane wait for an exec longer than the node may take to answer it', () => {
    expect(EXEC_DEFAULT_TIMEOUT_MS + 2 * AGENT_KILL_GRACE_MS).toBeLessThanOrEqual(EXEC_DEFAULT_REPLY_WAIT_MS);
    expect(2 * AGENT_KILL_GRACE_MS).toBeLessThan(EXEC_REPLY_MARGIN_MS);
  });

  it('lets the hop nearer the guest time out first, so its error is the one reported', () => {
    expect(AGENT_CALL_TIMEOUT_MS).toBeLessThan(NODE_REQUEST_TIMEOUT_MS);
    expect(SESSION_REQUEST_TIMEOUT_MS).toBeLessThan(ATTACH_REPLY_TIMEOUT_MS);
    expect(MAX_LOGS_WAIT_MS).toBeLessThan(NODE_REQUEST_TIMEOUT_MS);
  });

  it('fits a full logs page in one fleet message even as JSON, its bytes as numbers', () => {
    const page = { ok: true, result: { entries: [{ seq: 1, timeMs: 1, stream: 'stdout', data: [...new Uint8Array(MAX_LOGS_PAGE_BYTES).fill(255)] }], cursor: 1, ended: false } };
    // What a node agent keeps for socket.io's own framing.
    const framingBytes = 64 * 1024;
    expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThan(MAX_FLEET_MESSAGE_BYTES - framingBytes);
  });

  it('refuses session input chunks above MAX_SESSION_CHUNK_BYTES and takes one of exactly that size', () => {
    const input = (bytes: number) => sessionInputSchema.safeParse({ sessionId: '6a1f3c2e-9b8d-4e7f-a6b5-c4d3e2f1a0b9', data: new Uint8Array(bytes) }).success;
    expect(input(MAX_SESSION_CHUNK_BYTES)).toBe(true);
    expect(input(MAX_SESSION_CHUNK_BYTES + 1)).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import { RuntimeErrorCode } from '../../errors/runtime.errors';
import { validateSpec } from './sandbox-spec';
import type { SandboxSpec } from './sandbox.types';

const spec: SandboxSpec = { id: '0b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d', vcpus: 1, memoryMiB: 256, env: {} };

describe('validateSpec', () => {
  it("takes a containerd task's bundle and name", () => {
    expect(() => validateSpec({ ...spec, bundle: '/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc', containerd: { namespace: 'k8s.io', id: 'abc_1.x-y' }, deferStart: true, tty: true })).not.toThrow();
  });

  it.each<[string, Partial<SandboxSpec>, RegExp]>([
    ['a relative bundle', { bundle: 'bundles/t1' }, /bundle must be an absolute path/],
    ['a bundle and an image', { bundle: '/b', image: 'busybox' }, /an image or a bundle, not both/],
    ['a containerd id that containerd would refuse', { containerd: { namespace: 'default', id: 'a/b' } }, /containerd identifiers/],
    ['an empty containerd namespace', { containerd: { namespace: '', id: 't1' } }, /containerd identifiers/],
    ['a containerd id over 76 characters', { containerd: { namespace: 'default', id: 'x'.repeat(77) } }, /containerd identifiers/],
  ])('refuses %s', (_what, change, message) => {
    expect(() => validateSpec({ ...spec, ...change })).toThrow(expect.objectContaining({ code: RuntimeErrorCode.INVALID_SPEC, message: expect.stringMatching(message) }));
  });
});

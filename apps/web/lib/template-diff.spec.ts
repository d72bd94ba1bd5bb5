import { describe, expect, it } from '@jest/globals';
import { diffSpecs, fieldsToSpec, specToFields } from './template-diff';
import type { TemplateSpec } from '@moat/sdk';

const v1: TemplateSpec = { image: 'alpine:3.19', vcpus: 1, memoryMiB: 256, env: { MODE: 'a' } };
const v2: TemplateSpec = { image: 'alpine:3.20', vcpus: 1, memoryMiB: 512, env: { MODE: 'a' }, healthCheck: { command: ['true'] } };

describe('diffSpecs', () => {
  it('marks exactly the fields that differ', () => {
    const changed = diffSpecs(v1, v2)
      .filter((row) => row.changed)
      .map((row) => [row.field, row.left, row.right]);
    expect(changed).toEqual([
      ['image', 'alpine:3.19', 'alpine:3.20'],
      ['memory (MiB)', '256', '512'],
      ['health check', '—', 'true'],
    ]);
  });
});

describe('template form fields', () => {
  it('round-trip a spec, so a new version starts as a copy of the latest', () => {
    const spec: TemplateSpec = { ...v2, command: ['sleep', 'infinity'], networkModel: 'bridge', rootfs: '9p' };
    expect(fieldsToSpec(specToFields(spec))).toEqual({ spec, errors: [] });
  });

  it('requires vCPUs and memory', () => {
    const fields = { ...specToFields(v1), vcpus: '', memoryMiB: '' };
    expect(fieldsToSpec(fields).errors).toEqual(['vCPUs is required', 'Memory is required']);
  });
});

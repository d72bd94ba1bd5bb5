import { describe, expect, it } from '@jest/globals';
import { AuditQuery } from '../audit/audit.query';
import { CreateTenantDto } from '../tenants/dto/create-tenant.dto';
import { ErrorCode } from './api.error';
import { createValidationPipe } from './validation.pipe';

const pipe = createValidationPipe();

async function refusal(run: () => Promise<unknown>): Promise<string> {
  const error: unknown = await run().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toMatchObject({ code: ErrorCode.VALIDATION_FAILED });
  return (error as Error).message;
}

describe('validation pipe', () => {
  it('refuses null in a body instead of taking it for an absent field', async () => {
    const body = (value: object) => () => pipe.transform(value, { type: 'body', metatype: CreateTenantDto });
    // @IsOptional() alone would let this through to a service that reads quota.maxSandboxes.
    expect(await refusal(body({ name: 'acme', quota: null }))).toBe('quota must not be null (leave it out instead)');
    expect(await refusal(body({ name: 'acme', quota: { maxVcpus: null } }))).toBe('quota.maxVcpus must not be null (leave it out instead)');
    await expect(body({ name: 'acme', quota: { maxVcpus: 2 } })()).resolves.toBeInstanceOf(CreateTenantDto);
  });

  it('refuses NUL in path parameters and query strings', async () => {
    expect(await refusal(() => pipe.transform('a\0b', { type: 'param', data: 'id', metatype: String }))).toBe(
      'id must not contain NUL characters',
    );
    expect(await refusal(() => pipe.transform({ actor: 'x\0' }, { type: 'query', metatype: AuditQuery }))).toBe(
      'actor must not contain NUL characters',
    );
    await expect(pipe.transform('0f9e3c56-1d3a-4b1e-9c3f-2f6a3f1f0a10', { type: 'param', data: 'id', metatype: String })).resolves.toBe(
      '0f9e3c56-1d3a-4b1e-9c3f-2f6a3f1f0a10',
    );
  });

  it('refuses audit cursors and dates no database column holds', async () => {
    const query = (value: object) => () => pipe.transform(value, { type: 'query', metatype: AuditQuery });
    expect(await refusal(query({ before: '2147483648' }))).toMatch(/^before must not be greater than 2147483647/);
    expect(await refusal(query({ since: '-271821-04-20T00:00:00.000Z' }))).toMatch(/since/);
    expect(await refusal(query({ until: '+275760-09-13T00:00:00.000Z' }))).toMatch(/until/);
    await expect(query({ before: '2147483647', since: '2024-01-01T00:00:00Z' })()).resolves.toBeInstanceOf(AuditQuery);
  });
});

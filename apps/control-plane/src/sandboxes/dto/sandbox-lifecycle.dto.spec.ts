import { describe, expect, it } from '@jest/globals';
import { refusal as refusalOf, validated as validatedAs } from '../../common/testing/validation';
import { CreateSandboxDto } from './create-sandbox.dto';
import { restartPolicyOf } from './sandbox-lifecycle.dto';

const validated = (body: object) => validatedAs(CreateSandboxDto, body);
const refusal = (body: object) => refusalOf(CreateSandboxDto, body);

describe('restartPolicy on a new sandbox', () => {
  it('takes never and on-failure, with defaults filled in', async () => {
    expect(restartPolicyOf((await validated({})).restartPolicy)).toEqual({ type: 'never' });
    expect(restartPolicyOf((await validated({ restartPolicy: { type: 'never' } })).restartPolicy)).toEqual({ type: 'never' });
    expect(restartPolicyOf((await validated({ restartPolicy: { type: 'on-failure' } })).restartPolicy)).toEqual({
      type: 'on-failure',
      maxRestarts: 3,
      backoffSeconds: 1,
    });
    const bounds = await validated({ restartPolicy: { type: 'on-failure', maxRestarts: 100, backoffSeconds: 300 } });
    expect(restartPolicyOf(bounds.restartPolicy)).toEqual({ type: 'on-failure', maxRestarts: 100, backoffSeconds: 300 });
    const none = await validated({ restartPolicy: { type: 'on-failure', maxRestarts: 0, backoffSeconds: 1 } });
    expect(restartPolicyOf(none.restartPolicy)).toEqual({ type: 'on-failure', maxRestarts: 0, backoffSeconds: 1 });
  });

  it('refuses unknown types, values out of range or not integers, limits on never and unknown fields', async () => {
    expect(await refusal({ restartPolicy: { type: 'always' } })).toMatch(/^restartPolicy\.type: type must be one of the following values: never, on-failure/);
    expect(await refusal({ restartPolicy: {} })).toMatch(/^restartPolicy\.type: /);
    expect(await refusal({ restartPolicy: { type: 'on-failure', maxRestarts: 101 } })).toMatch(/^restartPolicy\.maxRestarts: maxRestarts must not be greater than 100/);
    expect(await refusal({ restartPolicy: { type: 'on-failure', maxRestarts: -1 } })).toMatch(/^restartPolicy\.maxRestarts: maxRestarts must not be less than 0/);
    expect(await refusal({ restartPolicy: { type: 'on-failure', maxRestarts: 1.5 } })).toMatch(/^restartPolicy\.maxRestarts: maxRestarts must be an integer/);
    expect(await refusal({ restartPolicy: { type: 'on-failure', maxRestarts: '3' } })).toMatch(/^restartPolicy\.maxRestarts: /);
    expect(await refusal({ restartPolicy: { type: 'on-failure', backoffSeconds: 0 } })).toMatch(/^restartPolicy\.backoffSeconds: backoffSeconds must not be less than 1/);
    expect(await refusal({ restartPolicy: { type: 'on-failure', backoffSeconds: 301 } })).toMatch(/^restartPolicy\.backoffSeconds: backoffSeconds must not be greater than 300/);
    expect(await refusal({ restartPolicy: { type: 'never', maxRestarts: 3 } })).toBe('restartPolicy.maxRestarts: maxRestarts applies to type "on-failure" only');
    expect(await refusal({ restartPolicy: { type: 'on-failure', always: true } })).toMatch(/restartPolicy\.always: property always should not exist/);
    expect(await refusal({ restartPolicy: 'on-failure' })).toMatch(/restartPolicy/);
  });
});

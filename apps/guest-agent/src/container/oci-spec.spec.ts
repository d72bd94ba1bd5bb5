import { describe, expect, it } from '@jest/globals';
import { AgentErrorCode } from '../errors/agent.error';
import { crunSpec, execProcessSpec, parseOciSpec, validateId } from './oci-spec';

const spec = {
  ociVersion: '1.0.2',
  root: { path: '/run/moat/shared/c1/rootfs' },
  process: {
    args: ['sleep', '1000'],
    env: ['PATH=/bin'],
    cwd: '/',
    user: { uid: 0, gid: 0 },
    capabilities: { bounding: ['CAP_KILL'] },
    noNewPrivileges: true,
  },
  linux: { namespaces: [{ type: 'pid' }] },
};
const invalidSpec = expect.objectContaining({ code: AgentErrorCode.INVALID_SPEC });

describe('parseOciSpec', () => {
  it('accepts a spec with root.path and process.args and keeps every other field', () => {
    expect(parseOciSpec(JSON.stringify(spec))).toEqual(spec);
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '[]'],
    ['no root', JSON.stringify({ ...spec, root: undefined })],
    ['relative root.path', JSON.stringify({ ...spec, root: { path: 'rootfs' } })],
    ['no process', JSON.stringify({ ...spec, process: undefined })],
    ['empty args', JSON.stringify({ ...spec, process: { ...spec.process, args: [] } })],
    ['non-string args', JSON.stringify({ ...spec, process: { ...spec.process, args: ['sh', 1] } })],
    ['a terminal that is not a boolean', JSON.stringify({ ...spec, process: { ...spec.process, terminal: 'yes' } })],
    ['mounts that are not an array', JSON.stringify({ ...spec, mounts: { destination: '/etc/hosts' } })],
    ['a mount without a destination', JSON.stringify({ ...spec, mounts: [{ type: 'bind', source: '/x' }] })],
  ])('rejects %s', (_case, json) => {
    expect(() => parseOciSpec(json)).toThrow(invalidSpec);
  });
});

describe('execProcessSpec', () => {
  it('takes what to run from the request and the security settings from the init process', () => {
    const exec = execProcessSpec(
      { args: ['sh', '-c', 'id'], env: ['A=1'], cwd: '', terminal: false, uid: 1000, gid: 100 },
      spec.process,
    );
    expect(exec).toEqual({
      terminal: false,
      args: ['sh', '-c', 'id'],
      env: ['A=1'],
      cwd: '/',
      user: { uid: 1000, gid: 100 },
      capabilities: { bounding: ['CAP_KILL'] },
      noNewPrivileges: true,
    });
  });

  it('rejects a missing process, empty args and a relative cwd', () => {
    const base = { args: ['true'], env: [], cwd: '/', terminal: false, uid: 0, gid: 0 };
    const invalidArgument = expect.objectContaining({ code: AgentErrorCode.INVALID_ARGUMENT });
    expect(() => execProcessSpec(undefined, spec.process)).toThrow(invalidArgument);
    expect(() => execProcessSpec({ ...base, args: [] }, spec.process)).toThrow(invalidArgument);
    expect(() => execProcessSpec({ ...base, cwd: 'tmp' }, spec.process)).toThrow(invalidArgument);
  });

  it("asks crun for no terminal of its own when the init wants one, keeping the rest of the spec", () => {
    const terminal = { ...spec, process: { ...spec.process, terminal: true } };
    expect(crunSpec(terminal)).toEqual({ ...spec, process: { ...spec.process, terminal: false } });
    expect(crunSpec(spec)).toBe(spec);
  });

  it('asks crun for no terminal of its own when the exec wants one: the agent supplies the pty', () => {
    const base = { args: ['sh'], env: [], cwd: '/', terminal: true, uid: 0, gid: 0 };
    expect(execProcessSpec(base, spec.process).terminal).toBe(false);
  });
});

describe('validateId', () => {
  it('accepts plain ids and rejects ones that could escape the bundle directory or look like flags', () => {
    expect(validateId('container', 'web-1.a_b')).toBe('web-1.a_b');
    for (const bad of ['', '../x', 'a/b', '-rf', '.hidden', 'x'.repeat(129)]) {
      expect(() => validateId('exec', bad)).toThrow(expect.objectContaining({ code: AgentErrorCode.INVALID_ARGUMENT }));
    }
  });
});

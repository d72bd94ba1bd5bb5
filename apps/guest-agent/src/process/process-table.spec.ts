import { describe, expect, it } from '@jest/globals';
import { AgentErrorCode } from '../errors/agent.error';
import { INIT_EXEC_ID, ProcessTable, type TrackedProcess } from './process-table';

class FakeProcess implements TrackedProcess {
  settled = false;
  constructor(
    readonly containerId: string,
    readonly execId: string,
  ) {}
  isSettled(): boolean {
    return this.settled;
  }
}

describe('ProcessTable', () => {
  it('finds processes by container and exec id', () => {
    const table = new ProcessTable<FakeProcess>();
    const exec = new FakeProcess('c1', 'e1');
    table.add(exec);
    expect(table.get('c1', 'e1')).toBe(exec);
    expect(() => table.get('c1', 'e2')).toThrow(expect.objectContaining({ code: AgentErrorCode.PROCESS_NOT_FOUND }));
    expect(() => table.get('c2', 'e1')).toThrow(expect.objectContaining({ code: AgentErrorCode.PROCESS_NOT_FOUND }));
  });

  it('rejects a second process with the same exec id in a container', () => {
    const table = new ProcessTable<FakeProcess>();
    table.add(new FakeProcess('c1', 'e1'));
    table.add(new FakeProcess('c2', 'e1'));
    expect(() => table.add(new FakeProcess('c1', 'e1'))).toThrow(
      expect.objectContaining({ code: AgentErrorCode.PROCESS_EXISTS }),
    );
  });

  it('forgets an exec process only once it is settled', () => {
    const table = new ProcessTable<FakeProcess>();
    const exec = new FakeProcess('c1', 'e1');
    table.add(exec);
    expect(table.releaseIfSettled('c1', 'e1')).toBe(false);
    exec.settled = true;
    expect(table.releaseIfSettled('c1', 'e1')).toBe(true);
    expect(table.find('c1', 'e1')).toBeUndefined();
    expect(table.size).toBe(0);
  });

  it('keeps the init process until its container is removed', () => {
    const table = new ProcessTable<FakeProcess>();
    const init = new FakeProcess('c1', INIT_EXEC_ID);
    init.settled = true;
    table.add(init);
    table.add(new FakeProcess('c1', 'e1'));
    expect(table.releaseIfSettled('c1', INIT_EXEC_ID)).toBe(false);
    expect(table.ofContainer('c1')).toHaveLength(2);
    table.removeContainer('c1');
    expect(table.size).toBe(0);
  });
});

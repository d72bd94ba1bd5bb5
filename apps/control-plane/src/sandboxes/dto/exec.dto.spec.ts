import { describe, expect, it } from '@jest/globals';
import { refusal, validated } from '../../common/testing/validation';
import { CreateSandboxDto } from './create-sandbox.dto';
import { ExecDto } from './exec.dto';

describe('caller mistakes a node could only fail on', () => {
  it('refuses a relative or missing-root cwd for exec, and takes an absolute one', async () => {
    for (const cwd of ['tmp', './tmp', '', ' /tmp', '/tmp\0']) {
      expect(await refusal(ExecDto, { command: ['ls'], cwd })).toBe(
        'cwd must be an absolute path, starting with "/" and without NUL characters',
      );
    }
    await expect(validated(ExecDto, { command: ['ls'], cwd: '/tmp' })).resolves.toMatchObject({ cwd: '/tmp' });
  });

  it('refuses a blank program or a NUL in an argument, but takes empty later arguments', async () => {
    expect(await refusal(ExecDto, { command: [' ', '-c', 'true'] })).toBe('command must start with the program to run (its first element is blank)');
    expect(await refusal(ExecDto, { command: ['echo', 'a\0b'] })).toBe('command must not contain NUL characters');
    expect(await refusal(CreateSandboxDto, { command: [''] })).toBe('command must start with the program to run (its first element is blank)');
    await expect(validated(ExecDto, { command: ['sh', '-c', ''] })).resolves.toBeInstanceOf(ExecDto);
  });

  it('refuses a blank image and NUL in env values', async () => {
    expect(await refusal(CreateSandboxDto, { image: ' ' })).toBe('image must not be blank');
    expect(await refusal(CreateSandboxDto, { image: '' })).toBe('image must not be blank');
    expect(await refusal(CreateSandboxDto, { image: 'busybox\0' })).toBe('image must not contain NUL characters');
    expect(await refusal(ExecDto, { command: ['env'], env: { A: 'x\0y' } })).toBe('env value of "A" must not contain NUL characters');
    await expect(validated(CreateSandboxDto, { image: 'busybox:latest' })).resolves.toBeInstanceOf(CreateSandboxDto);
  });
});

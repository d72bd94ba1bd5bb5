import { describe, expect, it } from '@jest/globals';
import { accelOption, positiveInt } from './cli';

describe('bench flags', () => {
  it('takes positive integers and names the flag it refuses', () => {
    expect(positiveInt('runs', '3')).toBe(3);
    expect(() => positiveInt('runs', '0')).toThrow('--runs must be a positive integer');
    expect(() => positiveInt('mb', '1.5')).toThrow('--mb must be a positive integer');
  });

  it('takes auto, kvm or tcg for --accel', () => {
    expect(accelOption('kvm')).toBe('kvm');
    expect(() => accelOption('hvf')).toThrow('--accel must be auto, kvm or tcg');
  });
});

import type { Accel } from '@moat/runtime-core';

/** `--data-dir` for the benchmarks that boot the guest image: where `npm start` keeps it. */
export const DATA_DIR_OPTION = { type: 'string', default: process.env.MOAT_DATA_DIR ?? '.moat' } as const;

/** The value of `--<flag>`, which must be a positive integer. */
export function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer`);
  return n;
}

/** The value of `--accel`. */
export function accelOption(value: string): 'auto' | Accel {
  if (value !== 'auto' && value !== 'kvm' && value !== 'tcg') throw new Error('--accel must be auto, kvm or tcg');
  return value;
}

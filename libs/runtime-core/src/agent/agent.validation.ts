import { MAX_EXIT_STATUS, MAX_LISTED_PROCESSES, MAX_SIGNAL, MAX_WINDOW_DIMENSION, type ProcessList, type StatsContainerResponse, type WaitProcessResponse } from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { ContainerStats, ExitInfo, WindowSize } from './agent.types';

const MAX_DETAIL_LENGTH = 256;
/** Linux's pid_max ceiling (2^22). */
const MAX_PID = 4_194_304;

export function protocolViolation(message: string): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION, message);
}

/** The guest broke the protocol (lied, stalled past the grace): it cannot be trusted with another call. */
export function isProtocolViolation(error: unknown): error is RuntimeError {
  return error instanceof RuntimeError && error.code === RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION;
}

/** Strings from the guest end up in logs and the UI: keep them short and printable. */
export function validDetail(value: unknown, field: string, method = 'GetGuestDetails'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_DETAIL_LENGTH || !/^[\x20-\x7e]+$/.test(value)) {
    throw protocolViolation(`${method} returned an invalid ${field}`);
  }
  return value;
}

export function validWindow(window: WindowSize): WindowSize {
  const { rows, cols } = window;
  if (![rows, cols].every((n) => Number.isInteger(n) && n >= 1 && n <= MAX_WINDOW_DIMENSION)) {
    throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `terminal size must be 1-${MAX_WINDOW_DIMENSION} rows and columns, got ${rows}x${cols}`);
  }
  return { rows, cols };
}

/** An exit status of 0–255 (128 + signal for a signalled process), a signal number and both flags. */
export function validExit(reply: WaitProcessResponse): ExitInfo {
  if (!Number.isInteger(reply.status) || reply.status < 0 || reply.status > MAX_EXIT_STATUS) {
    throw protocolViolation(`WaitProcess returned exit status ${reply.status}`);
  }
  if (!Number.isInteger(reply.signal) || reply.signal < 0 || reply.signal > MAX_SIGNAL) {
    throw protocolViolation(`WaitProcess returned signal ${reply.signal}`);
  }
  if (typeof reply.oomKilled !== 'boolean' || typeof reply.timedOut !== 'boolean') {
    throw protocolViolation('WaitProcess returned a malformed reply');
  }
  return { exitCode: reply.status, signal: reply.signal, oomKilled: reply.oomKilled, timedOut: reply.timedOut };
}

/** Every counter present, a non-negative integer, and the groups the API reports. */
/** A container's pids as the guest listed them: bounded, each a positive 32-bit pid. */
export function validProcessList(reply: ProcessList): number[] {
  const { pids } = reply;
  if (!Array.isArray(pids) || pids.length > MAX_LISTED_PROCESSES) throw protocolViolation(`ListProcesses returned more than ${MAX_LISTED_PROCESSES} pids`);
  if (!pids.every((pid) => Number.isInteger(pid) && pid > 0 && pid <= MAX_PID)) throw protocolViolation('ListProcesses returned an invalid pid');
  return [...pids];
}

export function validStats(reply: StatsContainerResponse): ContainerStats {
  const counter = (value: unknown, field: string): number => {
    // A counter a guest could honestly report stays far below 2^53; anything above is a lie.
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw protocolViolation(`StatsContainer returned an invalid ${field}`);
    }
    return value;
  };
  const { cpu, memory, pids, io } = reply;
  if (!cpu || !memory || !pids || !io) throw protocolViolation('StatsContainer returned an incomplete reply');
  return {
    cpu: { usageUsec: counter(cpu.usageUsec, 'cpu.usage_usec'), userUsec: counter(cpu.userUsec, 'cpu.user_usec'), systemUsec: counter(cpu.systemUsec, 'cpu.system_usec') },
    memory: {
      currentBytes: counter(memory.currentBytes, 'memory.current_bytes'),
      maxBytes: counter(memory.maxBytes, 'memory.max_bytes'),
      limitBytes: counter(memory.limitBytes, 'memory.limit_bytes'),
      oomKills: counter(memory.oomKills, 'memory.oom_kills'),
    },
    pids: { current: counter(pids.current, 'pids.current'), limit: counter(pids.limit, 'pids.limit') },
    io: { readBytes: counter(io.readBytes, 'io.read_bytes'), writeBytes: counter(io.writeBytes, 'io.write_bytes') },
  };
}

'use client';

import { useEffect, useRef, useState } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';
import { formatBytes, formatDuration } from '@/lib/format';
import { MoatApiError, type SandboxStats as Stats } from '@moat/sdk';
import { Usage } from '../ui/usage';

// Stats are sampled inside the guest on request and have no socket.io event, so this one
// panel asks again every few seconds while it is on screen and the sandbox runs.
const SAMPLE_MS = 2000;

/** CPU, memory, pids and I/O of a running sandbox, with the CPU share since the last sample. */
export function SandboxStats({ sandboxId, running }: { sandboxId: string; running: boolean }) {
  const { api, explain } = useFleet();
  const [stats, setStats] = useState<Stats | null>(null);
  const [cpuPct, setCpuPct] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const previous = useRef<Stats | null>(null);

  useEffect(() => {
    if (!running) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const sample = async () => {
      try {
        const next = await api.sandboxStats(sandboxId);
        if (stopped) return;
        const prev = previous.current;
        if (prev) {
          const wallUsec = (Date.parse(next.at) - Date.parse(prev.at)) * 1000;
          setCpuPct(wallUsec > 0 ? ((next.cpu.usageUsec - prev.cpu.usageUsec) / wallUsec) * 100 : null);
        }
        previous.current = next;
        setStats(next);
        setError(null);
        timer = setTimeout(() => void sample(), SAMPLE_MS);
      } catch (err) {
        if (stopped) return;
        // The sandbox is gone (or not the caller's): asking again will not bring it back.
        if (err instanceof MoatApiError && err.status === 404) {
          setError(`Live stats are not available: ${explain(err)}`);
          return;
        }
        setError(`Could not read the stats: ${explain(err)}`);
        timer = setTimeout(() => void sample(), SAMPLE_MS * 2);
      }
    };
    void sample();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api, explain, sandboxId, running]);

  return (
    <section className="card" aria-labelledby="stats-heading">
      <h2 id="stats-heading">Live stats</h2>
      {!running && <p className="hint">Stats are shown while the sandbox runs.</p>}
      {running && error && (
        <p className="banner banner--inline" role="alert">
          {error}
        </p>
      )}
      {running && !stats && !error && <p role="status">Loading…</p>}
      {running && stats && (
        <dl className="facts">
          <dt>CPU</dt>
          <dd>
            {cpuPct === null ? '…' : `${cpuPct.toFixed(1)} %`}{' '}
            <span className="hint">({formatDuration(stats.cpu.usageUsec / 1000)} total)</span>
          </dd>
          <dt>Memory</dt>
          <dd>
            <Usage used={stats.memory.currentBytes} total={stats.memory.limitBytes} format={formatBytes} />
          </dd>
          <dt>Processes</dt>
          <dd>
            {stats.pids.current} of {stats.pids.limit}
          </dd>
          <dt>Disk I/O</dt>
          <dd>
            {formatBytes(stats.io.readBytes)} read, {formatBytes(stats.io.writeBytes)} written
          </dd>
        </dl>
      )}
    </section>
  );
}

'use client';

import Link from 'next/link';
import { useFleet } from '@/lib/fleet/fleet.context';
import { formatBytes, formatMemory, formatTimestamp, nodeLabel, shortId } from '@/lib/format';
import { DeleteSandboxButton } from './delete-sandbox-button';
import { ExecForm } from './exec-form';
import { RelativeTime } from './relative-time';
import { StateBadge } from './state-badge';
import { TimingsWaterfall } from './timings-waterfall';

export function SandboxDetail({ id }: { id: string }) {
  const { state } = useFleet();
  const sandbox = state.sandboxes[id];

  if (!sandbox) {
    return (
      <>
        <h1>Sandbox {shortId(id)}</h1>
        {state.loaded ? (
          <p role="status">
            There is no sandbox with id <span className="mono">{id}</span>; it may have been deleted.{' '}
            <Link href="/">Back to the overview</Link>
          </p>
        ) : (
          <p role="status">Loading…</p>
        )}
      </>
    );
  }

  const env = Object.entries(sandbox.env);
  return (
    <>
      <div className="page__header">
        <div>
          <h1>
            Sandbox <span className="mono">{shortId(sandbox.id)}</span>
          </h1>
          <p className="hint mono">{sandbox.id}</p>
        </div>
        <DeleteSandboxButton sandboxId={sandbox.id} />
      </div>

      {sandbox.state === 'failed' && sandbox.error && (
        <p className="banner banner--inline" role="alert">
          Failed ({sandbox.error.code}): {sandbox.error.message}
        </p>
      )}

      {sandbox.state === 'creating' && sandbox.progress && (
        <p className="banner banner--inline" role="status">
          <label>
            Pulling {sandbox.image}: {formatBytes(sandbox.progress.bytesDone)} of {formatBytes(sandbox.progress.bytesTotal)}{' '}
            <progress max={sandbox.progress.bytesTotal} value={sandbox.progress.bytesDone} />
          </label>
        </p>
      )}

      <div className="grid">
        <section className="card" aria-labelledby="details-heading">
          <h2 id="details-heading">Details</h2>
          <dl className="facts">
            <dt>State</dt>
            <dd>
              <StateBadge state={sandbox.state} />
            </dd>
            <dt>Node</dt>
            <dd className="mono">{nodeLabel(sandbox.nodeId, state.nodes)}</dd>
            <dt>vCPUs</dt>
            <dd>{sandbox.vcpus}</dd>
            <dt>Memory</dt>
            <dd>{formatMemory(sandbox.memoryMiB)}</dd>
            <dt>Image</dt>
            <dd className="mono">{sandbox.image ?? 'default'}</dd>
            <dt>Command</dt>
            <dd className="mono">{sandbox.command ? sandbox.command.join(' ') : "the image's"}</dd>
            <dt>Rootfs</dt>
            <dd className="mono">{sandbox.rootfs ?? "node's default"}</dd>
            <dt>Guest kernel</dt>
            <dd className="mono">{sandbox.guest?.kernelRelease ?? 'not reported yet'}</dd>
            <dt>Guest agent</dt>
            <dd className="mono">{sandbox.guest?.agentVersion ?? 'not reported yet'}</dd>
            <dt>Created</dt>
            <dd title={formatTimestamp(sandbox.createdAt)}>
              <RelativeTime iso={sandbox.createdAt} />
            </dd>
            <dt>Environment</dt>
            <dd className="mono">
              {env.length === 0 ? 'none' : env.map(([key, value]) => <div key={key}>{`${key}=${value}`}</div>)}
            </dd>
          </dl>
        </section>

        <section className="card" aria-labelledby="timings-heading">
          <h2 id="timings-heading">Start timings</h2>
          <TimingsWaterfall timings={sandbox.timings} />
        </section>
      </div>

      <ExecForm sandboxId={sandbox.id} running={sandbox.state === 'running'} />
    </>
  );
}

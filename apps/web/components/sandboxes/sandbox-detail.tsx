'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useCollection, useFleet } from '@/lib/fleet/fleet.context';
import { containerdLabel, formatBytes, formatMemory, formatSeconds, formatTimestamp, nodeLabel, shortId } from '@/lib/format';
import type { SandboxAction } from '@/lib/api/api.client';
import { hibernationActions } from '@/lib/sandbox-actions';
import { restartSummary } from '@/lib/sandbox-history';
import { ConfirmButton } from '../ui/confirm-button';
import { DetailsCard } from '../ui/details-card';
import { RelativeTime } from '../ui/relative-time';
import { StateBadge } from '../ui/state-badge';
import { SandboxTerminal } from '../terminal/sandbox-terminal';
import { ExecForm } from './exec-form';
import { ForkButton, ForkedInto } from './fork-button';
import { MigrateButton, MigrationStatus } from './migrate-button';
import { SandboxIsolation, SandboxNetworkSettings } from './sandbox-fences';
import { SandboxLogs } from './sandbox-logs';
import { SandboxStats } from './sandbox-stats';
import { StateHistory } from './state-history';
import { TimingsWaterfall } from './timings-waterfall';

const HIBERNATION: Record<SandboxAction, { label: string; explain: string }> = {
  hibernate: {
    label: 'Hibernate',
    explain:
      'Its node saves the VM (memory, processes, writable rootfs) and releases it; its vCPUs and memory stop counting against the quota. Wake it to carry on where it was.',
  },
  wake: { label: 'Wake', explain: 'Its node restores the VM where it was saved; its vCPUs and memory count against the quota again.' },
};

export function SandboxDetail({ id }: { id: string }) {
  const { api, state, dispatch } = useFleet();
  const router = useRouter();
  const sandboxes = useCollection('sandboxes');
  useCollection('nodes');
  const sandbox = sandboxes.items[id];
  // The clones a fork from this page made, shown on the source's page only.
  const [forked, setForked] = useState<{ from: string; clones: string[] } | null>(null);

  if (!sandbox) {
    return (
      <>
        <h1>Sandbox {shortId(id)}</h1>
        {sandboxes.loaded ? (
          <p role="status">
            There is no sandbox with id <span className="mono">{id}</span>; it may have been deleted.{' '}
            <Link href="/sandboxes">All sandboxes</Link>
          </p>
        ) : (
          <p role="status">Loading…</p>
        )}
      </>
    );
  }

  const env = Object.entries(sandbox.env);
  const pull = sandbox.state === 'creating' ? sandbox.progress : null;
  // containerd's: shown, but every change of it is containerd's (the API answers MANAGED_BY_CONTAINERD).
  const managedBy = containerdLabel(sandbox);
  return (
    <>
      <div className="page__header">
        <div>
          <h1>
            Sandbox <span className="mono">{shortId(sandbox.id)}</span>
          </h1>
          <p className="hint mono">{sandbox.id}</p>
        </div>
        {!managedBy && (
          <div className="actions">
            {(['hibernate', 'wake'] as const).map((action) => (
              <ConfirmButton
                key={action}
                label={HIBERNATION[action].label}
                title={`${HIBERNATION[action].label} sandbox ${shortId(sandbox.id)}?`}
                confirmLabel={`${HIBERNATION[action].label} sandbox`}
                disabled={!hibernationActions(sandbox)[action]}
                onConfirm={async () => {
                  const item = await api.sandboxAction(sandbox.id, action);
                  dispatch({ type: 'upsert', collection: 'sandboxes', item });
                }}
              >
                <p>{HIBERNATION[action].explain}</p>
              </ConfirmButton>
            ))}
            <ForkButton sandbox={sandbox} onForked={(clones) => setForked({ from: sandbox.id, clones: clones.map((c) => c.id) })} />
            <MigrateButton sandbox={sandbox} />
            <ConfirmButton
              label="Delete"
              title={`Delete sandbox ${shortId(sandbox.id)}?`}
              confirmLabel="Delete sandbox"
              danger
              onConfirm={async () => {
                await api.deleteSandbox(sandbox.id);
                // Deletion is asynchronous (202): the list shows it stopping, then it disappears.
                router.push('/sandboxes');
              }}
            >
              <p>Its VM is stopped and everything it used is released. This cannot be undone.</p>
            </ConfirmButton>
          </div>
        )}
      </div>

      {managedBy && (
        <p className="hint" role="note" data-origin="containerd">
          <span className="badge badge--containerd">{managedBy}</span> Started through containerd, which manages it: delete it
          through containerd (<span className="mono">ctr task delete</span> / <span className="mono">crictl</span>).
        </p>
      )}

      {forked?.from === sandbox.id && <ForkedInto clones={forked.clones} />}
      <MigrationStatus sandbox={sandbox} />
      {sandbox.error && (
        <p className="banner banner--inline" role="alert">
          Failed ({sandbox.error.code}): {sandbox.error.message}
        </p>
      )}
      {pull && (
        <div className="card">
          <label className="field">
            <span>Pulling image {sandbox.image}</span>
            <progress value={pull.bytesDone} max={pull.bytesTotal || undefined} />
          </label>
          <p className="hint">
            {formatBytes(pull.bytesDone)} of {pull.bytesTotal ? formatBytes(pull.bytesTotal) : 'unknown size'}
          </p>
        </div>
      )}

      <div className="grid">
        <DetailsCard id="details-heading">
          <dt>State</dt>
          <dd>
            <StateBadge state={sandbox.state} />
            {sandbox.health && sandbox.health !== 'unknown' && <StateBadge state={sandbox.health} />}
            {sandbox.pendingReason && (
              <p className="hint" data-pending-reason={sandbox.pendingReason.code}>
                Not placed yet ({sandbox.pendingReason.code}): {sandbox.pendingReason.message}
              </p>
            )}
          </dd>
          {sandbox.savedBytes !== null && (
            <>
              <dt>Saved state</dt>
              <dd data-saved-bytes={sandbox.savedBytes}>{formatBytes(sandbox.savedBytes)} on its node</dd>
            </>
          )}
          <dt>Node</dt>
          <dd className="mono">
            {sandbox.nodeId && state.nodes.items[sandbox.nodeId] ? (
              <Link href={`/nodes/${sandbox.nodeId}`}>{nodeLabel(sandbox.nodeId, state.nodes.items)}</Link>
            ) : (
              nodeLabel(sandbox.nodeId, state.nodes.items)
            )}
          </dd>
          <dt>Restarts</dt>
          <dd>{restartSummary(sandbox)}</dd>
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
          <dt>Auto-hibernate</dt>
          <dd data-idle-timeout={sandbox.idleTimeoutSeconds ?? 'never'}>
            {sandbox.idleTimeoutSeconds === null ? 'never' : `after ${formatSeconds(sandbox.idleTimeoutSeconds)} unused; an exec, attach or file request wakes it`}
          </dd>
          {sandbox.transport && (
            <>
              <dt>Agent transport</dt>
              <dd className="mono">{sandbox.transport}</dd>
            </>
          )}
          {sandbox.networkModel && (
            <>
              <dt>Network</dt>
              <dd className="mono">
                {sandbox.networkModel}
                {sandbox.ip ? ` · ${sandbox.ip}` : ''}
              </dd>
            </>
          )}
          {sandbox.ports && sandbox.ports.length > 0 && (
            <>
              <dt>Ports</dt>
              <dd className="mono">
                {sandbox.ports.map((p) => `${p.hostPort ?? '?'}→${p.containerPort}/${p.protocol}`).join(', ')}
              </dd>
            </>
          )}
          {sandbox.deploymentId && (
            <>
              <dt>Deployment</dt>
              <dd>
                <Link href={`/deployments/${sandbox.deploymentId}`}>{shortId(sandbox.deploymentId)}</Link>
                {sandbox.templateVersion ? ` (template v${sandbox.templateVersion})` : ''}
              </dd>
            </>
          )}
          {sandbox.forkedFrom && (
            <>
              <dt>Forked from</dt>
              <dd>
                <Link href={`/sandboxes/${sandbox.forkedFrom}`} className="mono">
                  {shortId(sandbox.forkedFrom)}
                </Link>
              </dd>
            </>
          )}
          <dt>Guest kernel</dt>
          <dd className="mono">{sandbox.guest?.kernelRelease ?? 'not reported yet'}</dd>
          <dt>Created</dt>
          <dd title={formatTimestamp(sandbox.createdAt)}>
            <RelativeTime iso={sandbox.createdAt} />
          </dd>
          <dt>Environment</dt>
          <dd className="mono">
            {env.length === 0 ? 'none' : env.map(([key, value]) => <div key={key}>{`${key}=${value}`}</div>)}
          </dd>
        </DetailsCard>

        <section className="card" aria-labelledby="timings-heading">
          <h2 id="timings-heading">Boot waterfall</h2>
          <TimingsWaterfall timings={sandbox.timings} />
        </section>
        <SandboxIsolation sandbox={sandbox} />
        <SandboxNetworkSettings sandbox={sandbox} />
        <StateHistory sandbox={sandbox} />
        {!managedBy && <SandboxStats sandboxId={sandbox.id} running={sandbox.state === 'running'} />}
      </div>

      {!managedBy && (
        <>
          <SandboxLogs sandboxId={sandbox.id} state={sandbox.state} />
          <ExecForm sandboxId={sandbox.id} running={sandbox.state === 'running'} />
          <SandboxTerminal sandboxId={sandbox.id} running={sandbox.state === 'running'} />
        </>
      )}
    </>
  );
}

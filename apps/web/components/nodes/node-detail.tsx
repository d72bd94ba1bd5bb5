'use client';

import Link from 'next/link';
import { useId, useState } from 'react';
import { useCollection, useFleet } from '@/lib/fleet/fleet.context';
import { sandboxList } from '@/lib/fleet/fleet.reducer';
import { formatMemory, formatTimestamp, formatWarmPool } from '@/lib/format';
import type { DrainMode, FleetNode } from '@moat/sdk';
import type { NodeAction } from '@/lib/api/api.client';
import { SandboxesTable } from '../sandboxes/sandboxes-table';
import { ConfirmButton } from '../ui/confirm-button';
import { DetailsCard } from '../ui/details-card';
import { RelativeTime } from '../ui/relative-time';
import { StateBadge } from '../ui/state-badge';
import { Usage } from '../ui/usage';
import { JailStatus, Labels } from './nodes-table';

const ACTIONS: Record<NodeAction, { label: string; explain: string; danger: boolean }> = {
  cordon: { label: 'Cordon', explain: 'No new sandboxes are placed on it; those running keep running.', danger: false },
  uncordon: { label: 'Uncordon', explain: 'The scheduler may place new sandboxes on it again.', danger: false },
  drain: { label: 'Drain', explain: 'It is cordoned and its sandboxes are moved away, as the mode says.', danger: true },
};

const DRAIN_MODES: readonly { mode: DrainMode; label: string; explain: string }[] = [
  {
    mode: 'replace',
    label: 'Replace (stop and start elsewhere)',
    explain: 'Deployment replicas are recreated on other nodes before the old ones stop; sandboxes created directly keep running here until deleted.',
  },
  {
    mode: 'migrate',
    label: 'Migrate (move running sandboxes live)',
    explain:
      'Running sandboxes move to other nodes while they keep running (DRAIN_MIGRATED in their history); one that cannot move is handled as Replace would (DRAIN_FALLBACK).',
  },
];

/** The drain dialog's choice of how the node is emptied. */
function DrainModeChoice({ mode, onChange }: { mode: DrainMode; onChange: (mode: DrainMode) => void }) {
  const id = useId();
  return (
    <fieldset className="choices" aria-describedby={`${id}-explain`}>
      <legend>Mode</legend>
      {DRAIN_MODES.map((choice) => (
        <label key={choice.mode} className="field field--check">
          <input type="radio" name={`${id}-mode`} value={choice.mode} checked={mode === choice.mode} onChange={() => onChange(choice.mode)} />
          <span>{choice.label}</span>
        </label>
      ))}
      <p id={`${id}-explain`} className="hint">
        {DRAIN_MODES.find((choice) => choice.mode === mode)?.explain}
      </p>
    </fieldset>
  );
}

function actionsFor(node: FleetNode): NodeAction[] {
  switch (node.state) {
    case 'ready':
      return ['cordon', 'drain'];
    case 'cordoned':
      return ['uncordon', 'drain'];
    case 'draining':
      return ['uncordon'];
    case 'down':
    case 'unknown':
      return ['cordon'];
  }
}

export function NodeDetail({ id }: { id: string }) {
  const { api, dispatch } = useFleet();
  const [drainMode, setDrainMode] = useState<DrainMode>('replace');
  const nodes = useCollection('nodes');
  const sandboxes = useCollection('sandboxes');
  const node = nodes.items[id];
  if (!node) {
    return (
      <>
        <h1>Node</h1>
        {nodes.error ? (
          <p role="alert">{nodes.error}</p>
        ) : (
          <p role="status">
            {nodes.loaded ? <>There is no node with this id. <Link href="/nodes">All nodes</Link></> : 'Loading…'}
          </p>
        )}
      </>
    );
  }
  const onNode = sandboxList(sandboxes.items).filter((s) => s.nodeId === node.id);
  return (
    <>
      <div className="page__header">
        <div>
          <h1>Node {node.name}</h1>
          <p className="hint mono">{node.id}</p>
        </div>
        <div className="actions">
          {actionsFor(node).map((action) => (
            <ConfirmButton
              key={action}
              label={ACTIONS[action].label}
              title={`${ACTIONS[action].label} node ${node.name}?`}
              confirmLabel={`${ACTIONS[action].label} node`}
              danger={ACTIONS[action].danger}
              onConfirm={async () => {
                const item = await api.nodeAction(node.id, action, { mode: drainMode });
                dispatch({ type: 'upsert', collection: 'nodes', item });
              }}
            >
              <p>{ACTIONS[action].explain}</p>
              {action === 'drain' && <DrainModeChoice mode={drainMode} onChange={setDrainMode} />}
            </ConfirmButton>
          ))}
        </div>
      </div>
      {!node.jailed && (
        <p className="banner banner--inline" role="alert">
          This node does not jail its VMMs (MOAT_JAIL=false): they run as root in the host namespaces, without seccomp.
          Use it for debugging only.
        </p>
      )}
      <div className="grid">
        <DetailsCard id="node-details">
          <dt>State</dt>
          <dd>
            <StateBadge state={node.state} />
          </dd>
          <dt>Labels</dt>
          <dd>
            <Labels labels={node.labels} />
          </dd>
          <dt>VMM jail</dt>
          <dd>
            <JailStatus jailed={node.jailed} />
          </dd>
          <dt>Accelerator</dt>
          <dd>{node.accel === 'kvm' ? 'KVM' : 'TCG (emulated)'}</dd>
          <dt>Hypervisors</dt>
          <dd>{node.hypervisors.join(', ')}</dd>
          <dt>vCPUs</dt>
          <dd>
            <Usage used={node.allocated.vcpus} total={node.allocatable.vcpus} />
          </dd>
          <dt>Memory</dt>
          <dd>
            <Usage used={node.allocated.memoryMiB} total={node.allocatable.memoryMiB} format={formatMemory} />
          </dd>
          <dt>Host</dt>
          <dd>
            {node.capacity.vcpus} CPUs, {formatMemory(node.capacity.memoryMiB)}
            {node.cpuOvercommit !== undefined && <> · vCPUs offered ×{node.cpuOvercommit}</>}
            {!!node.memoryReserveMiB && <> · {formatMemory(node.memoryReserveMiB)} kept for the host</>}
            {!!node.sandboxOverheadMiB && <> · {formatMemory(node.sandboxOverheadMiB)} overhead per sandbox (guest and VMM)</>}
          </dd>
          {node.warmPool.length > 0 && (
            <>
              <dt>Warm pool</dt>
              <dd>{formatWarmPool(node.warmPool)} restored ahead of time</dd>
            </>
          )}
          <dt>Last heartbeat</dt>
          <dd title={formatTimestamp(node.lastHeartbeatAt)}>
            <RelativeTime iso={node.lastHeartbeatAt} />
          </dd>
        </DetailsCard>
      </div>
      <section className="card card--flush" aria-label="Sandboxes on this node">
        <SandboxesTable sandboxes={onNode} filters={false} />
      </section>
    </>
  );
}

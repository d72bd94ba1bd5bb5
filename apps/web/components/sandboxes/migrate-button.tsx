'use client';

import { useId, useState } from 'react';
import type { Sandbox } from '@moat/sdk';
import { useFleet } from '@/lib/fleet/fleet.context';
import { formatBytes, shortId } from '@/lib/format';
import { migratable } from '@/lib/sandbox-actions';
import { failedMigration, migrationProgress, migrationTargets } from '@/lib/sandbox-migration';
import { ConfirmButton } from '../ui/confirm-button';

/** Migrate: a confirmation with the node to move to (blank: the scheduler chooses). */
export function MigrateButton({ sandbox }: { sandbox: Sandbox }) {
  const { api, state, dispatch } = useFleet();
  const [target, setTarget] = useState('');
  const id = useId();
  // Tenants cannot list nodes: they get the scheduler's choice alone.
  const targets = migrationTargets(sandbox, Object.values(state.nodes.items));
  const chosen = targets.some((t) => t.id === target) ? target : '';
  return (
    <ConfirmButton
      label="Migrate"
      title={`Migrate sandbox ${shortId(sandbox.id)}?`}
      confirmLabel="Migrate sandbox"
      disabled={!migratable(sandbox)}
      onConfirm={async () => {
        const item = await api.migrateSandbox(sandbox.id, chosen || undefined);
        dispatch({ type: 'upsert', collection: 'sandboxes', item });
      }}
    >
      <p>
        It keeps running while its memory and disk are copied to the other node, pauses briefly at the end and then runs there (
        <span className="mono">migrating</span>, then <span className="mono">running</span>). If the move fails it carries on running
        where it is, its history saying why.
      </p>
      <label className="field" htmlFor={`${id}-node`}>
        <span>Target node</span>
        <select id={`${id}-node`} name="nodeId" value={chosen} onChange={(event) => setTarget(event.target.value)}>
          <option value="">Let the scheduler choose</option>
          {targets.map((t) => (
            <option key={t.id} value={t.id}>
              {t.label}
            </option>
          ))}
        </select>
      </label>
    </ConfirmButton>
  );
}

/** While it migrates: the move's progress; after a failed one: why, and that it still runs where it was. */
export function MigrationStatus({ sandbox }: { sandbox: Sandbox }) {
  const moving = migrationProgress(sandbox);
  const failed = failedMigration(sandbox);
  if (moving) {
    return (
      <div className="card" role="status" data-migrating>
        <label className="field">
          <span>Migrating live to another node{moving.note ? `: ${moving.note}` : ''}</span>
          {moving.copied ? <progress value={moving.copied.bytesDone} max={moving.copied.bytesTotal || undefined} /> : <progress />}
        </label>
        <p className="hint">
          {moving.copied
            ? `${formatBytes(moving.copied.bytesDone)} of ${moving.copied.bytesTotal ? formatBytes(moving.copied.bytesTotal) : 'unknown size'} copied; `
            : ''}
          it keeps running meanwhile, and this page follows it to its new node.
        </p>
      </div>
    );
  }
  if (failed && sandbox.state === 'running') {
    return (
      <p className="hint" role="note" data-migration-failed>
        The last migration failed (MIGRATION_FAILED): {failed.message}. It runs on its node as before.
      </p>
    );
  }
  return null;
}

'use client';

import Link from 'next/link';
import { useId, useState } from 'react';
import type { Sandbox } from '@moat/sdk';
import { useFleet } from '@/lib/fleet/fleet.context';
import { shortId } from '@/lib/format';
import { FORK_COUNT_LIMITS, forkable, parseForkCount } from '@/lib/sandbox-actions';
import { ConfirmButton } from '../ui/confirm-button';

/** Fork: a confirmation asking how many clones; `onForked` gets them once the control plane made them. */
export function ForkButton({ sandbox, onForked }: { sandbox: Sandbox; onForked: (clones: Sandbox[]) => void }) {
  const { api, dispatch } = useFleet();
  const [count, setCount] = useState('1');
  const id = useId();
  return (
    <ConfirmButton
      label="Fork"
      title={`Fork sandbox ${shortId(sandbox.id)}?`}
      confirmLabel="Fork sandbox"
      disabled={!forkable(sandbox)}
      onConfirm={async () => {
        const parsed = parseForkCount(count);
        if (parsed.errors.length > 0) throw new Error(parsed.errors.join('; '));
        const clones = await api.forkSandbox(sandbox.id, parsed.count);
        for (const item of clones) dispatch({ type: 'upsert', collection: 'sandboxes', item });
        onForked(clones);
      }}
    >
      <p>
        Its node pauses it for about a second to capture its memory, processes and files; each clone starts from that capture on the same
        node, with its own id, hostname, address and writable disk, and counts against the quota.
      </p>
      <label className="field" htmlFor={`${id}-count`}>
        <span>Clones</span>
        <input
          id={`${id}-count`}
          name="count"
          type="number"
          inputMode="numeric"
          min={FORK_COUNT_LIMITS.min}
          max={FORK_COUNT_LIMITS.max}
          value={count}
          onChange={(event) => setCount(event.target.value)}
        />
      </label>
    </ConfirmButton>
  );
}

/** The clones a fork from this page just made, each a link to its page. */
export function ForkedInto({ clones }: { clones: readonly string[] }) {
  return (
    <p className="hint" role="status" data-forked-into={clones.length}>
      Forked into {clones.length} {clones.length === 1 ? 'clone' : 'clones'}:{' '}
      {clones.map((cloneId, i) => (
        <span key={cloneId}>
          {i > 0 && ', '}
          <Link href={`/sandboxes/${cloneId}`} className="mono">
            {shortId(cloneId)}
          </Link>
        </span>
      ))}
    </p>
  );
}

'use client';

import { useCollection } from '@/lib/fleet/fleet.context';
import { sandboxList } from '@/lib/fleet/fleet.reducer';
import { LoadStatus } from '../ui/load-status';
import { NewSandboxForm } from './new-sandbox-form';
import { SandboxesTable } from './sandboxes-table';

export function SandboxesPage() {
  const sandboxes = useCollection('sandboxes');
  // Operators filter by node, so they need the node names (tenants may not list nodes).
  useCollection('nodes');
  return (
    <>
      <h1>Sandboxes</h1>
      <div className="grid grid--main-side">
        <section className="card card--flush">
          <SandboxesTable sandboxes={sandboxList(sandboxes.items)} />
          <LoadStatus loaded={sandboxes.loaded} error={sandboxes.error} empty={null} />
        </section>
        <NewSandboxForm />
      </div>
    </>
  );
}

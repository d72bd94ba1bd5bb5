'use client';

import { useFleet } from '@/lib/fleet/fleet.context';
import { NewSandboxForm } from './new-sandbox-form';
import { NodesTable } from './nodes-table';
import { SandboxesTable } from './sandboxes-table';

export function Overview() {
  const { session } = useFleet();
  return (
    <>
      <h1>Overview</h1>
      {/* Nodes are the operator's concern; tenant keys may not list them. */}
      {session.role === 'admin' && (
        <section className="card card--flush">
          <NodesTable />
        </section>
      )}
      <div className="grid grid--main-side">
        <section className="card card--flush">
          <SandboxesTable />
        </section>
        <NewSandboxForm />
      </div>
    </>
  );
}

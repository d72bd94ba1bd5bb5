'use client';

import { useCollection } from '@/lib/fleet/fleet.context';
import { listByName } from '@/lib/fleet/fleet.reducer';
import { LoadStatus } from '../ui/load-status';
import { NodesTable } from './nodes-table';

export function NodesPage() {
  const nodes = useCollection('nodes');
  const list = listByName(nodes.items);
  return (
    <>
      <h1>Nodes</h1>
      <section className="card card--flush">
        <NodesTable nodes={list} />
        <LoadStatus loaded={nodes.loaded} error={nodes.error} empty={list.length === 0 ? 'No nodes have joined yet.' : null} />
      </section>
    </>
  );
}

import type { Metadata } from 'next';
import { NodesPage } from '@/components/nodes/nodes-page';
import { AdminOnly } from '@/components/shell/admin-only';

export const metadata: Metadata = { title: 'Nodes' };

export default function Page() {
  return (
    <AdminOnly>
      <NodesPage />
    </AdminOnly>
  );
}

import type { Metadata } from 'next';
import { NodeDetail } from '@/components/nodes/node-detail';
import { AdminOnly } from '@/components/shell/admin-only';
import { shortId } from '@/lib/format';

interface Props {
  params: Promise<{ id: string }>;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  return { title: `Node ${shortId(id)}` };
}

export default async function Page({ params }: Props) {
  const { id } = await params;
  return (
    <AdminOnly>
      <NodeDetail id={id} />
    </AdminOnly>
  );
}

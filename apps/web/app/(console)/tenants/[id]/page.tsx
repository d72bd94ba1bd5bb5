import type { Metadata } from 'next';
import { TenantDetail } from '@/components/tenants/tenant-detail';
import { AdminOnly } from '@/components/shell/admin-only';
import { shortId } from '@/lib/format';

interface Props {
  params: Promise<{ id: string }>;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  return { title: `Tenant ${shortId(id)}` };
}

export default async function Page({ params }: Props) {
  const { id } = await params;
  return (
    <AdminOnly>
      <TenantDetail id={id} />
    </AdminOnly>
  );
}

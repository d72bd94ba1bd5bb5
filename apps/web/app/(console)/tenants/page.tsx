import type { Metadata } from 'next';
import { TenantsPage } from '@/components/tenants/tenants-page';
import { AdminOnly } from '@/components/shell/admin-only';

export const metadata: Metadata = { title: 'Tenants' };

export default function Page() {
  return (
    <AdminOnly>
      <TenantsPage />
    </AdminOnly>
  );
}

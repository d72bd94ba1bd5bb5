import type { Metadata } from 'next';
import { DeploymentsPage } from '@/components/deployments/deployments-page';

export const metadata: Metadata = { title: 'Deployments' };

export default async function Page({ searchParams }: { searchParams: Promise<{ template?: string | string[] }> }) {
  const { template } = await searchParams;
  return <DeploymentsPage template={typeof template === 'string' ? template : ''} />;
}

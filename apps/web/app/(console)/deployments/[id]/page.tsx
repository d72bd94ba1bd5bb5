import type { Metadata } from 'next';
import { DeploymentDetail } from '@/components/deployments/deployment-detail';

import { shortId } from '@/lib/format';

interface Props {
  params: Promise<{ id: string }>;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  return { title: `Deployment ${shortId(id)}` };
}

export default async function Page({ params }: Props) {
  const { id } = await params;
  return <DeploymentDetail id={id} />;
}

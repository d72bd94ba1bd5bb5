import type { Metadata } from 'next';
import { RolloutDetail } from '@/components/rollouts/rollout-detail';

import { shortId } from '@/lib/format';

interface Props {
  params: Promise<{ id: string }>;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  return { title: `Rollout ${shortId(id)}` };
}

export default async function Page({ params }: Props) {
  const { id } = await params;
  return <RolloutDetail id={id} />;
}

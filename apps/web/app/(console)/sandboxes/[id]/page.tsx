import type { Metadata } from 'next';
import { SandboxDetail } from '@/components/sandboxes/sandbox-detail';

import { shortId } from '@/lib/format';

interface Props {
  params: Promise<{ id: string }>;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  return { title: `Sandbox ${shortId(id)}` };
}

export default async function Page({ params }: Props) {
  const { id } = await params;
  return <SandboxDetail id={id} />;
}

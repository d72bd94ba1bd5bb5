import type { Metadata } from 'next';
import { TemplateDetail } from '@/components/templates/template-detail';

import { shortId } from '@/lib/format';

interface Props {
  params: Promise<{ id: string }>;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  return { title: `Template ${shortId(id)}` };
}

export default async function Page({ params }: Props) {
  const { id } = await params;
  return <TemplateDetail id={id} />;
}

'use client';

import type { ReactNode } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';

/** Operator pages: a tenant key gets a sentence instead of a wall of 403 errors. */
export function AdminOnly({ children }: { children: ReactNode }) {
  const { session } = useFleet();
  if (session.role === 'admin') return children;
  return (
    <p role="status" className="page-status">
      This page is for operators; a tenant API key cannot see it.
    </p>
  );
}

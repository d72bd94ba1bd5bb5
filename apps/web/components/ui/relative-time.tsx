'use client';

import { useEffect, useState } from 'react';
import { formatAge, formatTimestamp } from '@/lib/format';

const TICK_MS = 5000;

/** "12 s ago", re-rendered as time passes (a local clock tick, not a request). */
export function RelativeTime({ iso }: { iso: string }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), TICK_MS);
    return () => clearInterval(timer);
  }, []);
  return (
    <time dateTime={iso} title={formatTimestamp(iso)}>
      {formatAge(iso, now)}
    </time>
  );
}

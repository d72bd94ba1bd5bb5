'use client';

import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useCallback, useEffect, useRef, type ReactNode } from 'react';
import { FleetProvider, useFleet, type LiveStatus } from '@/lib/fleet/fleet.context';
import { clearSession, useSession } from '@/lib/session';
import type { Role } from '@moat/sdk';

const LIVE_LABELS: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  unavailable: 'Offline',
};

/** The signed-in frame: guards the routes, owns the live fleet connection and the top bar. */
export function ConsoleShell({ children }: { children: ReactNode }) {
  const session = useSession();
  const router = useRouter();
  // Set when this shell itself sends the user away, so the guard below does not race it.
  const leaving = useRef(false);

  useEffect(() => {
    if (session === null && !leaving.current) router.replace('/signin');
  }, [session, router]);

  const signOut = useCallback(
    (reason?: 'expired') => {
      leaving.current = true;
      router.replace(reason ? `/signin?reason=${reason}` : '/signin');
      clearSession();
    },
    [router],
  );
  const onUnauthorized = useCallback(() => signOut('expired'), [signOut]);

  if (!session) {
    return (
      <p className="page-status" role="status">
        Loading…
      </p>
    );
  }

  return (
    <FleetProvider session={session} onUnauthorized={onUnauthorized}>
      <header className="topbar">
        <Link href="/" className="topbar__brand">
          Moat
        </Link>
        <MainNav role={session.role} />
        <div className="topbar__end">
          <LiveIndicator />
          <span className="topbar__role">{session.role === 'admin' ? 'Operator' : `Tenant ${session.tenant?.name ?? ''}`}</span>
          <button type="button" className="button button--ghost" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <ProblemBanner />
      <main id="main" className="page">
        {children}
      </main>
    </FleetProvider>
  );
}

const NAV: { href: string; label: string; admin?: boolean; tenant?: boolean }[] = [
  { href: '/', label: 'Overview' },
  { href: '/nodes', label: 'Nodes', admin: true },
  { href: '/sandboxes', label: 'Sandboxes' },
  { href: '/templates', label: 'Templates' },
  { href: '/deployments', label: 'Deployments' },
  { href: '/tenants', label: 'Tenants', admin: true },
  { href: '/account', label: 'Account', tenant: true },
  { href: '/audit', label: 'Audit' },
];

function isCurrent(pathname: string, href: string): boolean {
  return href === '/' ? pathname === '/' : pathname === href || pathname.startsWith(`${href}/`);
}

function MainNav({ role }: { role: Role }) {
  const pathname = usePathname();
  const items = NAV.filter((item) => (role === 'admin' ? !item.tenant : !item.admin));
  return (
    <nav aria-label="Main" className="topbar__nav">
      {items.map((item) => (
        <Link key={item.href} href={item.href} aria-current={isCurrent(pathname, item.href) ? 'page' : undefined}>
          {item.label}
        </Link>
      ))}
    </nav>
  );
}

function LiveIndicator() {
  const { live } = useFleet();
  return (
    <span className={`live live--${live}`} role="status">
      {LIVE_LABELS[live]}
    </span>
  );
}

function ProblemBanner() {
  const { problem } = useFleet();
  if (!problem) return null;
  return (
    <p className="banner" role="alert">
      {problem}
    </p>
  );
}

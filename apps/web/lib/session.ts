'use client';

import { useSyncExternalStore } from 'react';
import type { Role } from '@moat/sdk';

export interface Session {
  token: string;
  role: Role;
  /** The tenant a tenant key belongs to. */
  tenant?: { id: string; name: string };
}

// sessionStorage rather than localStorage: the bearer token is gone when the tab closes.
const STORAGE_KEY = 'moat.session';
const listeners = new Set<() => void>();

let cachedRaw: string | null = null;
let cachedSession: Session | null = null;

function readSession(): Session | null {
  const raw = window.sessionStorage.getItem(STORAGE_KEY);
  // useSyncExternalStore needs the same object back while nothing changed.
  if (raw === cachedRaw) return cachedSession;
  cachedRaw = raw;
  cachedSession = parseSession(raw);
  return cachedSession;
}

/** Reads a stored session; anything malformed counts as signed out. */
export function parseSession(raw: string | null): Session | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<Session>;
    if (typeof value.token !== 'string' || (value.role !== 'admin' && value.role !== 'tenant')) return null;
    const session: Session = { token: value.token, role: value.role };
    const tenant = value.tenant;
    if (tenant && typeof tenant.id === 'string' && typeof tenant.name === 'string') {
      session.tenant = { id: tenant.id, name: tenant.name };
    }
    return session;
  } catch {
    return null;
  }
}

function notify(): void {
  for (const listener of listeners) listener();
}

export function saveSession(session: Session): void {
  window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  notify();
}

export function clearSession(): void {
  window.sessionStorage.removeItem(STORAGE_KEY);
  notify();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The signed-in session; `undefined` while not yet known (on the server and during hydration). */
export function useSession(): Session | null | undefined {
  return useSyncExternalStore(subscribe, readSession, () => undefined);
}

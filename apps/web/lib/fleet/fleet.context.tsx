'use client';

import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
  type ReactNode,
} from 'react';
import { ApiClient } from '../api/api.client';
import { describeError } from '../api/api-error';
import { useApiBase } from '../config/api-config.context';
import type { Session } from '../session';
import { connectUi, type UiSocket } from '../socket';
import { MoatApiError, type AuditEntry } from '@moat/sdk';
import {
  fleetReducer,
  initialFleetState,
  type Collection,
  type CollectionName,
  type Collections,
  type FleetAction,
  type FleetState,
  type Snapshot,
} from './fleet.reducer';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'unavailable';

type AuditListener = (entry: AuditEntry) => void;

interface FleetContextValue {
  session: Session;
  api: ApiClient;
  state: FleetState;
  dispatch: (action: FleetAction) => void;
  live: LiveStatus;
  /** Why the fleet could not be kept live, in words; null when all is well. */
  problem: string | null;
  /** Why a collection could not be loaded, in words. */
  loadErrors: Partial<Record<CollectionName, string>>;
  /** Message for an error from an API call; a rejected token signs the user out. */
  explain: (error: unknown) => string;
  /** Registers interest in a collection: it is loaded now and again after every reconnect. */
  want: (name: CollectionName) => void;
  /** Live audit entries, for the audit page. */
  onAudit: (listener: AuditListener) => () => void;
}

const FleetContext = createContext<FleetContextValue | null>(null);

// A socket.io middleware rejection is final (socket.active turns false); retry it slowly in
// case it was the control plane restarting rather than the token being revoked.
const REJECTED_RETRY_MS = 5000;

/** Collections only the operator may list. */
const ADMIN_ONLY: ReadonlySet<CollectionName> = new Set(['nodes', 'tenants']);

type Loader = { [K in CollectionName]: ((api: ApiClient) => Promise<Collections[K][]>) | null };

// Rollouts have no fleet-wide list: pages load them per deployment and events keep them.
const LOADERS: Loader = {
  sandboxes: (api) => api.listSandboxes(),
  nodes: (api) => api.listNodes(),
  tenants: (api) => api.listTenants(),
  deployments: (api) => api.listDeployments(),
  templates: (api) => api.listTemplates(),
  rollouts: null,
};

/** Loads what the pages ask for over REST and keeps it current from the `/ui` socket.io events. */
export function FleetProvider({
  session,
  onUnauthorized,
  children,
}: {
  session: Session;
  onUnauthorized: () => void;
  children: ReactNode;
}) {
  const apiBase = useApiBase();
  const api = useMemo(() => new ApiClient(apiBase(), session.token), [apiBase, session.token]);
  const [state, dispatch] = useReducer(fleetReducer, initialFleetState);
  const [live, setLive] = useState<LiveStatus>('connecting');
  const [problem, setProblem] = useState<string | null>(null);
  const [loadErrors, setLoadErrors] = useState<Partial<Record<CollectionName, string>>>({});
  const wanted = useRef(new Set<CollectionName>(['sandboxes']));
  const requests = useRef(0);
  const auditListeners = useRef(new Set<AuditListener>());

  const explain = useCallback(
    (error: unknown) => {
      if (error instanceof MoatApiError && error.status === 401) onUnauthorized();
      return describeError(error);
    },
    [onUnauthorized],
  );

  const load = useCallback(
    async (names: readonly CollectionName[]) => {
      const loadable = names.flatMap((name) => {
        const loader = LOADERS[name];
        return loader && (session.role === 'admin' || !ADMIN_ONLY.has(name)) ? [{ name, loader }] : [];
      });
      if (loadable.length === 0) return;
      const collections = loadable.map(({ name }) => name);
      const seq = requests.current++;
      dispatch({ type: 'sync:started', collections });
      const results = await Promise.allSettled(loadable.map(({ loader }) => loader(api)));
      const snapshot: Snapshot = {};
      const failed: CollectionName[] = [];
      const errors: Partial<Record<CollectionName, string>> = {};
      results.forEach((result, i) => {
        const name = collections[i];
        if (!name) return;
        if (result.status === 'fulfilled') (snapshot as Record<string, unknown>)[name] = result.value;
        else {
          failed.push(name);
          errors[name] = `Could not load the ${name}: ${explain(result.reason)}`;
        }
      });
      dispatch({ type: 'sync:completed', snapshot, seq });
      if (failed.length > 0) dispatch({ type: 'sync:failed', collections: failed });
      setLoadErrors((previous) => {
        const next = { ...previous, ...errors };
        for (const name of collections) if (!(name in errors)) delete next[name];
        return next;
      });
    },
    [api, session.role, explain],
  );

  const want = useCallback(
    (name: CollectionName) => {
      if (wanted.current.has(name)) return;
      wanted.current.add(name);
      void load([name]);
    },
    [load],
  );

  useEffect(() => {
    const socket: UiSocket = connectUi(api.baseUrl, session.token);
    let closed = false;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;

    // Load at once, so the first paint does not wait for the socket's handshake; then again
    // once subscribed and after every reconnect, because changes made before the socket
    // joined (or while it was away) are never replayed.
    void load([...wanted.current]);
    socket.on('connect', () => {
      setLive('live');
      setProblem(null);
      void load([...wanted.current]);
    });
    socket.on('disconnect', () => setLive('reconnecting'));
    socket.on('connect_error', (error) => {
      if (socket.active) {
        setLive('reconnecting');
        return;
      }
      // Rejected by the server: find out over REST whether the token is still good.
      setLive('unavailable');
      api.listSandboxes().then(
        () => {
          if (closed) return;
          setProblem(`Live updates were refused: ${error.message}. Retrying…`);
          retryTimer = setTimeout(() => socket.connect(), REJECTED_RETRY_MS);
        },
        (restError: unknown) => {
          if (!closed) setProblem(`Live updates are unavailable: ${explain(restError)}`);
        },
      );
    });
    socket.on('sandbox:updated', (item) => dispatch({ type: 'upsert', collection: 'sandboxes', item }));
    socket.on('sandbox:deleted', ({ id }) => dispatch({ type: 'remove', collection: 'sandboxes', id }));
    socket.on('node:updated', (item) => dispatch({ type: 'upsert', collection: 'nodes', item }));
    socket.on('tenant:updated', (item) => dispatch({ type: 'upsert', collection: 'tenants', item }));
    socket.on('deployment:updated', (item) => dispatch({ type: 'upsert', collection: 'deployments', item }));
    socket.on('deployment:deleted', ({ id }) => dispatch({ type: 'remove', collection: 'deployments', id }));
    socket.on('rollout:updated', (item) => dispatch({ type: 'upsert', collection: 'rollouts', item }));
    socket.on('template:updated', (item) => dispatch({ type: 'upsert', collection: 'templates', item }));
    socket.on('audit:appended', (entry) => {
      for (const listener of auditListeners.current) listener(entry);
    });

    return () => {
      closed = true;
      clearTimeout(retryTimer);
      socket.disconnect();
    };
  }, [api, session.token, explain, load]);

  const onAudit = useCallback((listener: AuditListener) => {
    auditListeners.current.add(listener);
    return () => {
      auditListeners.current.delete(listener);
    };
  }, []);

  const value = useMemo(
    () => ({ session, api, state, dispatch, live, problem, loadErrors, explain, want, onAudit }),
    [session, api, state, live, problem, loadErrors, explain, want, onAudit],
  );
  return <FleetContext.Provider value={value}>{children}</FleetContext.Provider>;
}

export function useFleet(): FleetContextValue {
  const value = useContext(FleetContext);
  if (!value) throw new Error('useFleet must be used inside FleetProvider');
  return value;
}

/** A live collection, loaded on first use; `error` says in words why it could not be loaded. */
export function useCollection<K extends CollectionName>(
  name: K,
): { items: Readonly<Record<string, Collections[K]>>; loaded: boolean; error: string | null } {
  const { state, want, loadErrors } = useFleet();
  useEffect(() => want(name), [want, name]);
  // Indexing a mapped type with a generic key loses the link between the two; it holds here.
  const collection = state[name] as unknown as Collection<Collections[K]>;
  return { items: collection.items, loaded: collection.loaded, error: loadErrors[name] ?? null };
}

'use client';

import { createContext, useCallback, useContext, useEffect, useMemo, useReducer, useState, type ReactNode } from 'react';
import { ApiClient } from '../api/api.client';
import { ApiError, describeError } from '../api/api-error';
import { useApiBase } from '../config/api-config.context';
import type { Session } from '../session';
import { connectUi } from '../socket';
import { fleetReducer, initialFleetState, type FleetAction, type FleetState } from './fleet.reducer';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'unavailable';

interface FleetContextValue {
  session: Session;
  api: ApiClient;
  state: FleetState;
  dispatch: (action: FleetAction) => void;
  live: LiveStatus;
  /** Why the fleet could not be loaded or kept live, in words; null when all is well. */
  problem: string | null;
  /** Message for an error from an API call; a rejected token signs the user out. */
  explain: (error: unknown) => string;
}

const FleetContext = createContext<FleetContextValue | null>(null);

// A socket.io middleware rejection is final (socket.active turns false); retry it slowly in
// case it was the control plane restarting rather than the token being revoked.
const REJECTED_RETRY_MS = 5000;

/** Loads the fleet over REST and keeps it current from the `/ui` socket.io events. */
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

  const explain = useCallback(
    (error: unknown) => {
      if (error instanceof ApiError && error.unauthorized) onUnauthorized();
      return describeError(error);
    },
    [onUnauthorized],
  );

  useEffect(() => {
    const socket = connectUi(api.baseUrl, session.token);
    let closed = false;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;

    const resync = async () => {
      dispatch({ type: 'sync:started' });
      try {
        const [sandboxes, nodes] = await Promise.all([
          api.listSandboxes(),
          session.role === 'admin' ? api.listNodes() : Promise.resolve(null),
        ]);
        if (closed) return;
        dispatch({ type: 'sync:completed', sandboxes, nodes });
        setProblem(null);
      } catch (error) {
        if (closed) return;
        dispatch({ type: 'sync:failed' });
        setProblem(`Could not load the fleet: ${explain(error)}`);
      }
    };

    socket.on('connect', () => {
      setLive('live');
      // Fetch after subscribing, and again after every reconnect: events missed while
      // disconnected are never replayed, so the list is rebuilt from the source of truth.
      void resync();
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
    socket.on('sandbox:updated', (sandbox) => dispatch({ type: 'sandbox:updated', sandbox }));
    socket.on('sandbox:deleted', ({ id }) => dispatch({ type: 'sandbox:deleted', id }));
    socket.on('node:updated', (node) => dispatch({ type: 'node:updated', node }));

    return () => {
      closed = true;
      clearTimeout(retryTimer);
      socket.disconnect();
    };
  }, [api, session.role, session.token, explain]);

  const value = useMemo(
    () => ({ session, api, state, dispatch, live, problem, explain }),
    [session, api, state, live, problem, explain],
  );
  return <FleetContext.Provider value={value}>{children}</FleetContext.Provider>;
}

export function useFleet(): FleetContextValue {
  const value = useContext(FleetContext);
  if (!value) throw new Error('useFleet must be used inside FleetProvider');
  return value;
}

/**
 * Lets the event loop serve sockets and timers before a long run of work goes on. Queries
 * on better-sqlite3 complete synchronously, so a loop of awaited queries never yields by
 * itself: thousands of them in a row starve socket.io pings and heartbeats.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** What the outside namespace serves (see outside.mjs). */
export const OUTSIDE: {
  hostAddress: string;
  server: string;
  otherServer: string;
  namedServer: string;
  linkLocal: string;
  dnsName: string;
};
/** MOAT_DNS_SERVERS for the e2e stack: the outside namespace's resolver. */
export const DNS_SERVER: string;
/** Creates the outside namespace with its HTTP and DNS servers; `stop` removes all of it. */
export function startOutside(): { stop(): void };

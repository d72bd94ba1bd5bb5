/**
 * Network names and addresses as a sandbox's fences and resolver settings take them. Plain
 * functions without zod, so the guest agent (an esbuild bundle that drops unused modules) can
 * check the same grammar without carrying zod; `fleet/sandbox-fences.ts` builds the schemas on them.
 */

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
const IPV4_CIDR = new RegExp(`^${OCTET}(\\.${OCTET}){3}/(3[0-2]|[12]?\\d)$`);
/** The grammar of {@link isDnsName}, for schemas. */
export const DNS_NAME_PATTERN = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
/**
 * The grammar of {@link isResolverOption}, for schemas: `name` or `name:n` ("ndots:2",
 * "rotate"…); resolvers ignore options they do not know, so the grammar is checked, not a list.
 */
export const RESOLVER_OPTION_PATTERN = /^[a-z][a-z0-9-]{0,31}(:\d{1,3})?$/;

/** An IPv4 address in dotted-quad form. */
export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

/** An IPv4 CIDR, `a.b.c.d/n` (host bits may be set; the node masks them). */
export function isIpv4Cidr(value: string): boolean {
  return IPV4_CIDR.test(value);
}

/** A DNS domain as RFC 1123 names it (a search domain); the API checks it and the guest agent again. */
export function isDnsName(value: string): boolean {
  return DNS_NAME_PATTERN.test(value);
}

/** A resolv.conf option (`ndots:2`, `rotate`); the API checks it and the guest agent again. */
export function isResolverOption(value: string): boolean {
  return RESOLVER_OPTION_PATTERN.test(value);
}

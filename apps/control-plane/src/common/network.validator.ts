import { isDnsName, isIpv4, isIpv4Cidr, isResolverOption } from '@moat/proto';
import { buildMessage, ValidateBy, type ValidationOptions } from 'class-validator';

// The node agent and the guest agent check the same values with the protocol's rules.

/** At most this much of a rejected value is quoted back in the message. */
const QUOTE_MAX = 64;

/** A string property (or, with `each`, every string of an array) that `accepts` takes. */
function acceptedBy(
  name: string,
  accepts: (value: string) => boolean,
  expected: string,
  options?: ValidationOptions,
): PropertyDecorator {
  const ok = (value: unknown): boolean => typeof value === 'string' && accepts(value);
  return ValidateBy(
    {
      name,
      validator: {
        validate: ok,
        defaultMessage: buildMessage((eachPrefix, args) => {
          // With `each`, the arguments carry the whole array: quote the first entry refused.
          const refused: unknown = Array.isArray(args?.value) ? (args.value as unknown[]).find((v) => !ok(v)) : args?.value;
          const quoted = typeof refused === 'string' ? `"${refused.slice(0, QUOTE_MAX)}"` : 'a non-string';
          return `${eachPrefix}$property must be ${expected} (${quoted} is not)`;
        }, options),
      },
    },
    options,
  );
}

/** An IPv4 address in dotted-quad form. */
export function IsIpv4Address(options?: ValidationOptions): PropertyDecorator {
  return acceptedBy('isIpv4Address', isIpv4, 'an IPv4 address such as 192.0.2.53', options);
}

/** An IPv4 CIDR, `a.b.c.d/n`. */
export function IsIpv4Cidr(options?: ValidationOptions): PropertyDecorator {
  return acceptedBy('isIpv4Cidr', isIpv4Cidr, 'an IPv4 CIDR such as 10.0.0.0/8', options);
}

/** A DNS domain, as resolv.conf's `search` takes it. */
export function IsDnsDomain(options?: ValidationOptions): PropertyDecorator {
  return acceptedBy('isDnsDomain', isDnsName, 'a DNS domain such as svc.example.com', options);
}

/** A resolv.conf option, `name` or `name:n`. */
export function IsResolverOption(options?: ValidationOptions): PropertyDecorator {
  return acceptedBy('isResolverOption', isResolverOption, 'a resolver option such as ndots:2', options);
}

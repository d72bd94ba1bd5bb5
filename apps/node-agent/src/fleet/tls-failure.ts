/** OpenSSL's verdicts on a certificate it does not trust, as Node names them in `err.code`. */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Says why the control plane's certificate was refused, when that is what `err` is (directly,
 * as its `cause`, or as the WebSocket error socket.io-client wraps in `description`); else
 * undefined. The refusal happens inside the TLS handshake, before any byte of the request.
 */
export function untrustedCertificate(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code)) {
      return `the control plane's TLS certificate is not trusted (${code}: ${String(message)}); check MOAT_TLS_CA (the CA that signed it) and the host name in MOAT_CONTROL_PLANE_URL`;
    }
    const wrapped = e as { cause?: unknown; description?: { error?: unknown } };
    e = wrapped.cause ?? wrapped.description?.error;
  }
  return undefined;
}

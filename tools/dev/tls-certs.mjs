// A private CA and a server certificate for the control plane, made with Debian's openssl CLI
// and kept in a directory (`$MOAT_DATA_DIR/tls/` under the dev stack): reused while valid,
// remade when missing, expiring, or no longer covering the hosts asked for. Plain Node, no
// dependencies, so tools/dev and tests can use it before or without a build.
//
//   node tools/dev/tls-certs.mjs <dir> [host-or-ip…]   prints {"caFile","certFile","keyFile"} as JSON
import { spawnSync } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

/** Always in the server certificate, so local agents and tools reach it over loopback. */
export const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

const CA_DAYS = 3650;
const SERVER_DAYS = 397;
/** A certificate expiring sooner than this is remade instead of reused. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export class TlsCertificatesError extends Error {
  /** @param {'OPENSSL_MISSING' | 'OPENSSL_FAILED' | 'INVALID_HOST'} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = 'TlsCertificatesError';
    this.code = code;
  }
}

/**
 * @typedef {{ caFile: string, certFile: string, keyFile: string }} TlsFiles
 *   the CA's certificate (what clients trust) and the server's certificate and key (PEM)
 */

/**
 * Makes sure `dir` holds a CA and a server certificate for `hosts` (plus loopback), valid for
 * at least 30 more days; creates or renews what is missing. Keys are mode 0600 in a 0700 dir.
 * @param {{ dir: string, hosts?: string[], log?: (msg: string) => void }} opts
 * @returns {TlsFiles}
 */
export function ensureCertificates({ dir, hosts = [], log = () => undefined }) {
  const names = [...new Set([...LOOPBACK_NAMES, ...hosts])];
  const bad = names.find((name) => !isIP(name) && !DNS_NAME.test(name));
  if (bad !== undefined) throw new TlsCertificatesError('INVALID_HOST', `not a host name or IP address: "${bad}"`);
  const root = resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const files = { caFile: join(root, 'ca.pem'), certFile: join(root, 'server.pem'), keyFile: join(root, 'server.key') };
  const caKeyFile = join(root, 'ca.key');

  let ca = usableCa(files.caFile, caKeyFile);
  if (!ca) {
    log(`creating a TLS CA in ${root}`);
    makeCa(root, files.caFile, caKeyFile);
    ca = new X509Certificate(readFileSync(files.caFile));
  }
  if (!usableServerCertificate(files, ca, names)) {
    log(`creating the control plane's TLS certificate for ${names.join(', ')}`);
    makeServerCertificate(root, files, caKeyFile, names);
  }
  return files;
}

/** @returns {X509Certificate | undefined} */
function usableCa(caFile, caKeyFile) {
  const ca = readCertificate(caFile);
  if (!ca || !ca.ca || !fresh(ca) || !existsSync(caKeyFile)) return undefined;
  return matchesKey(ca, caKeyFile) ? ca : undefined;
}

/** @param {TlsFiles} files @param {X509Certificate} ca @param {string[]} names */
function usableServerCertificate(files, ca, names) {
  const cert = readCertificate(files.certFile);
  if (!cert || !fresh(cert) || !cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
  if (!names.every((name) => (isIP(name) ? cert.checkIP(name) : cert.checkHost(name)) !== undefined)) return false;
  return existsSync(files.keyFile) && matchesKey(cert, files.keyFile);
}

function readCertificate(file) {
  try {
    return new X509Certificate(readFileSync(file));
  } catch {
    return undefined;
  }
}

function fresh(cert) {
  return Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE_MS && Date.parse(cert.validFrom) <= Date.now();
}

function matchesKey(cert, keyFile) {
  try {
    return cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)));
  } catch {
    return false;
  }
}

function makeCa(root, caFile, caKeyFile) {
  const config = [
    '[req]',
    'distinguished_name = dn',
    'x509_extensions = ca',
    'prompt = no',
    '[dn]',
    `CN = Moat CA ${randomBytes(4).toString('hex')}`,
    '[ca]',
    'basicConstraints = critical, CA:TRUE, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
  ];
  withConfig(root, config, (configFile) =>
    openssl(['req', '-x509', '-new', ...EC_KEY, '-noenc', '-config', configFile, '-days', String(CA_DAYS), '-keyout', `${caKeyFile}.tmp`, '-out', `${caFile}.tmp`]),
  );
  commit([`${caKeyFile}.tmp`, `${caFile}.tmp`]);
}

/** @param {TlsFiles} files */
function makeServerCertificate(root, files, caKeyFile, names) {
  const altNames = names.map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(', ');
  const config = [
    '[req]',
    'distinguished_name = dn',
    'x509_extensions = server',
    'prompt = no',
    '[dn]',
    'CN = moat-control-plane',
    '[server]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${altNames}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
  ];
  withConfig(root, config, (configFile) =>
    openssl([
      'req', '-x509', '-new', ...EC_KEY, '-noenc', '-config', configFile, '-days', String(SERVER_DAYS),
      '-CA', files.caFile, '-CAkey', caKeyFile, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-keyout', `${files.keyFile}.tmp`, '-out', `${files.certFile}.tmp`,
    ]),
  );
  commit([`${files.keyFile}.tmp`, `${files.certFile}.tmp`]);
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

function withConfig(root, lines, run) {
  const configFile = join(root, `openssl-${process.pid}.cnf`);
  writeFileSync(configFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  try {
    run(configFile);
  } finally {
    rmSync(configFile, { force: true });
  }
}

/** Moves freshly written `<file>.tmp`s into place, so a crash never leaves half a pair behind. */
function commit(tmpFiles) {
  for (const tmp of tmpFiles) {
    if (tmp.endsWith('.key.tmp')) chmodSync(tmp, 0o600);
    renameSync(tmp, tmp.slice(0, -'.tmp'.length));
  }
}

function openssl(args) {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.error?.code === 'ENOENT') {
    throw new TlsCertificatesError('OPENSSL_MISSING', 'openssl is not installed (Debian: apt-get install openssl)');
  }
  if (r.status !== 0) {
    throw new TlsCertificatesError('OPENSSL_FAILED', `openssl ${args[0]} failed (${r.signal ?? r.status}): ${r.stderr.trim()}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const [dir, ...hosts] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: node tools/dev/tls-certs.mjs <dir> [host-or-ip…]');
    process.exit(2);
  }
  try {
    console.log(JSON.stringify(ensureCertificates({ dir, hosts, log: (msg) => console.error(msg) })));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}

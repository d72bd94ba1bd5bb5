import { MAX_IMAGE_REFERENCE_LENGTH } from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';

/** A parsed `[registry/]repository[:tag][@digest]` reference. */
export interface ImageReference {
  /** Host and optional port, e.g. `127.0.0.1:5000` or `registry-1.docker.io`. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DOCKER_HUB = 'registry-1.docker.io';
// The Distribution spec's grammar, slightly simplified: lowercase path components separated by / . _ __ or -.
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Parses an image reference the way `docker pull` does: no registry means Docker Hub, no tag means `latest`. */
export function parseImageReference(raw: string): ImageReference {
  const invalid = (why: string) => new RuntimeError(RuntimeErrorCode.IMAGE_REFERENCE_INVALID, `invalid image reference ${JSON.stringify(raw)}: ${why}`);
  if (raw.length === 0 || raw.length > MAX_IMAGE_REFERENCE_LENGTH) throw invalid(`must be 1-${MAX_IMAGE_REFERENCE_LENGTH} characters`);
  let rest = raw;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid('digest must be sha256:<64 hex digits>');
  }
  let registry = DOCKER_HUB;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    rest = rest.slice(slash + 1);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid('bad tag');
  }
  if (registry === DOCKER_HUB && !rest.includes('/')) rest = `library/${rest}`;
  if (!REPOSITORY.test(rest)) throw invalid('bad repository name');
  return { registry, repository: rest, ...(digest ? { digest } : { tag: tag ?? 'latest' }), ...(digest && tag ? { tag } : {}) };
}

/** What the registry is asked for: the digest when pinned, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

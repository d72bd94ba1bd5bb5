import { NODE_JOIN_PATH, nodeJoinResponseSchema, type NodeJoinRequest } from '@moat/proto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@moat/runtime-core';
import type { Logger } from 'pino';
import { CREDENTIAL_FILE } from '../config/agent.config';
import type { HttpAnswer, PostJson } from './control-plane.http';
import { untrustedCertificate } from './tls-failure';

export class NodeJoinError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NodeJoinError';
  }
}

/**
 * The token this node presents to the control plane. A node that joined before uses its
 * stored credential; otherwise a join token is exchanged once for a credential, which is
 * stored (mode 0600) before it is used, so the spent join token is never needed again.
 */
export async function nodeToken(opts: {
  nodeDir: string;
  controlPlaneUrl: string;
  nodeId: string;
  nodeName: string;
  auth: { joinToken?: string; token?: string };
  log: Logger;
  /** How the join reaches the control plane (`controlPlanePost`, with the configured CA). */
  post: PostJson;
}): Promise<string> {
  const file = join(opts.nodeDir, CREDENTIAL_FILE);
  const stored = await readFile(file, 'utf8').then(
    (text) => text.trim() || undefined,
    () => undefined,
  );
  if (stored) return stored;
  if (!opts.auth.joinToken) {
    if (!opts.auth.token) throw new NodeJoinError('no credential, join token or node token');
    return opts.auth.token;
  }
  const body: NodeJoinRequest = { token: opts.auth.joinToken, nodeId: opts.nodeId, name: opts.nodeName };
  let answer: HttpAnswer;
  try {
    answer = await opts.post(new URL(NODE_JOIN_PATH, opts.controlPlaneUrl), JSON.stringify(body));
  } catch (cause) {
    const untrusted = untrustedCertificate(cause);
    throw new NodeJoinError(
      untrusted
        ? `refusing to join ${opts.controlPlaneUrl}: ${untrusted}; the join token was not sent`
        : `cannot reach the control plane at ${opts.controlPlaneUrl} to join: ${(cause as Error).message}`,
      { cause },
    );
  }
  const { status, text } = answer;
  if (status !== 201) throw new NodeJoinError(`joining the fleet failed (${status}): ${text}`);
  const parsed = nodeJoinResponseSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new NodeJoinError('the control plane answered the join with an invalid body');
  // Synced before it is used: after a power cut the spent join token could not get another.
  await writeFileAtomic(file, `${parsed.data.credential}\n`);
  opts.log.info({ nodeId: opts.nodeId }, 'joined the fleet; credential stored');
  return parsed.data.credential;
}

/** Constants of the guest agent channel that both ends (runtime-core and the guest agent) rely on. */

/** The vsock port the guest agent listens on (Kata's agent uses 1024 too). */
export const AGENT_VSOCK_PORT = 1024;
/** The name of the virtio-serial port carrying the agent's gRPC when there is no vsock. */
export const AGENT_PORT_NAME = 'agent.channel.0';

/**
 * The message the guest agent logs (as the `msg` of a JSON line on the console) once it serves.
 * Boot snapshots are saved when it appears, without the host ever connecting, so every restored
 * clone starts with the agent idle and no host session to untangle.
 */
export const AGENT_SERVING_MESSAGE = 'guest agent serving';

/**
 * The kernel parameter that has the guest run its agent under V8's interpreter alone
 * (`--jitless`). The host sets it for a guest whose CPU QEMU emulates (TCG): there, code V8
 * compiles and patches at run time must be translated again each time, and after a restore
 * from a snapshot all of it once more, which costs more than interpreting saves.
 */
export const AGENT_JITLESS_PARAM = 'moat.jitless=1';

/** The exec id that names a container's init (main) process in process calls, as in Kata. */
export const INIT_EXEC_ID = '';

/**
 * The handshake that opens every host connection on the agent's virtio-serial port, a byte
 * stream with no connection boundaries. The host's first bytes are `MOAT-SYNC <nonce>\n`; the
 * guest ends the session it had (stale after a wake, a fork or a node-agent restart: its
 * answers may still be on their way), writes `MOAT-SYNCED <nonce>\n` and starts a fresh one.
 * The host drops what it reads before that answer, so no byte of an old session reaches the
 * new one. QEMU starts a new connection's bytes in a fresh virtqueue buffer, so the request is
 * always at the start of one guest read.
 */
export const SERIAL_SYNC = {
  request: 'MOAT-SYNC ',
  answer: 'MOAT-SYNCED ',
  /** Hex digits of the nonce. */
  nonceLength: 32,
} as const;

/** The bytes a host sends to open a session with `nonce` (SERIAL_SYNC.nonceLength hex digits). */
export function serialSyncRequest(nonce: string): string {
  return `${SERIAL_SYNC.request}${nonce}\n`;
}

/** The bytes a guest answers a sync request with. */
export function serialSyncAnswer(nonce: string): string {
  return `${SERIAL_SYNC.answer}${nonce}\n`;
}

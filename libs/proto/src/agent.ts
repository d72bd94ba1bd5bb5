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

/** The exec id that names a container's init (main) process in process calls, as in Kata. */
export const INIT_EXEC_ID = '';

import { MAX_FLEET_MESSAGE_BYTES } from '@moat/proto';
import type { ServerOptions } from 'socket.io';

/**
 * Options of the one socket.io server both gateways share (Nest creates it from whichever
 * gateway starts first, so both pass the same). Exec replies carry command output, hence
 * a larger message limit than socket.io's 1 MB default; node agents keep their answers under it.
 */
export const SOCKET_SERVER_OPTIONS: Partial<ServerOptions> = {
  cors: { origin: '*' },
  maxHttpBufferSize: MAX_FLEET_MESSAGE_BYTES,
};

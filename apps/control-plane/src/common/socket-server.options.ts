import type { ServerOptions } from 'socket.io';

/**
 * Options of the one socket.io server both gateways share (Nest creates it from whichever
 * gateway starts first, so both pass the same). Exec replies carry command output, hence
 * a larger message limit than socket.io's 1 MB default.
 */
export const SOCKET_SERVER_OPTIONS: Partial<ServerOptions> = {
  cors: { origin: '*' },
  maxHttpBufferSize: 8 * 1024 * 1024,
};

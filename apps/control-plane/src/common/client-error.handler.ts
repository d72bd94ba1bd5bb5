import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from './http-exception.filter';
import { errorCodeForHttpStatus } from './error-status';

/** The status Node's own handler would answer (lib/_http_server.js), and what it means here. */
function refusalOf(err: NodeJS.ErrnoException): { status: number; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'request line and headers exceed 16 KiB' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'chunk extensions exceed the limit' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'the request did not arrive in time' };
    case undefined:
    default:
      return { status: 400, message: 'the request is not valid HTTP/1.1' };
  }
}

/** A socket as Node's HTTP server keeps it: the response in flight on it, if any. */
interface ServerSocket extends Duplex {
  _httpMessage?: { headersSent?: boolean } | null;
}

/**
 * `clientError` listener: answers what Node's HTTP parser refuses before any route sees it
 * (a 20 KiB URL, a malformed request line) with the API's error body. Node's own answer is a
 * bare status line without one.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: ServerSocket): void {
  // Like Node: nothing is written on a reset socket, or into a response already under way.
  if (err.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, message } = refusalOf(err);
  const body: ErrorBody = { error: { code: errorCodeForHttpStatus(status), message } };
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      'Connection: close\r\n\r\n' +
      text,
  );
}

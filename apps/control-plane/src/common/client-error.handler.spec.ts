import { describe, expect, it } from '@jest/globals';
import { answerClientError } from './client-error.handler';

function fakeSocket(inFlight?: { headersSent: boolean }) {
  const socket = {
    writable: true,
    written: '',
    destroyed: false,
    _httpMessage: inFlight ?? null,
    end(text: string) {
      this.written = text;
    },
    destroy() {
      this.destroyed = true;
    },
  };
  return socket;
}

function refuse(code: string, inFlight?: { headersSent: boolean }) {
  const socket = fakeSocket(inFlight);
  answerClientError(Object.assign(new Error(code), { code }), socket as never);
  const [head, body] = socket.written.split('\r\n\r\n');
  return { socket, head, body: body === undefined ? undefined : (JSON.parse(body) as unknown) };
}

describe('requests the HTTP parser refuses', () => {
  it('are answered with the status Node would give and the API error body', () => {
    const tooLarge = refuse('HPE_HEADER_OVERFLOW');
    expect(tooLarge.head).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(tooLarge.head).toContain('Content-Type: application/json; charset=utf-8');
    expect(tooLarge.body).toEqual({ error: { code: 'HEADERS_TOO_LARGE', message: 'request line and headers exceed 16 KiB' } });
    expect(refuse('HPE_INVALID_METHOD').body).toEqual({ error: { code: 'VALIDATION_FAILED', message: 'the request is not valid HTTP/1.1' } });
    expect(refuse('ERR_HTTP_REQUEST_TIMEOUT').head).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('write nothing on a reset socket or into a response already under way', () => {
    for (const { socket } of [refuse('ECONNRESET'), refuse('HPE_INVALID_METHOD', { headersSent: true })]) {
      expect(socket.written).toBe('');
      expect(socket.destroyed).toBe(true);
    }
  });
});

import { describe, expect, it } from '@jest/globals';
import { Request, Response } from '../generated/ttrpc';

// proto/ttrpc.proto is ours (ttrpc 1.1.1 ships none): these are the bytes the struct tags of
// ttrpc-go's types.go make gogo/protobuf write, so a field numbered or typed differently fails here.
describe('ttrpc Request and Response on the wire', () => {
  const text = (s: string) => [s.length, ...Buffer.from(s)];

  it('encodes a Request as ttrpc-go does: service 1, method 2, payload 3, timeout_nano 4 (varint), metadata 5', () => {
    const request = { service: 'svc', method: 'M', payload: Buffer.from([7]), timeoutNano: 1_000n, metadata: [{ key: 'k', value: 'v' }] };
    const wire = Buffer.from([0x0a, ...text('svc'), 0x12, ...text('M'), 0x1a, 1, 7, 0x20, 0xe8, 0x07, 0x2a, 6, 0x0a, ...text('k'), 0x12, ...text('v')]);
    expect(Buffer.from(Request.encode(request).finish())).toEqual(wire);
    expect(Request.decode(wire)).toEqual(request);
  });

  it('reads a negative timeout_nano, which ttrpc-go sends once the deadline has passed', () => {
    const wire = Buffer.from([0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(Request.decode(wire).timeoutNano).toBe(-1n);
  });

  it('encodes a Response as ttrpc-go does: google.rpc.Status 1 (code 1, message 2), payload 2', () => {
    const response = { status: { code: 5, message: 'nf', details: [] }, payload: Buffer.from('p') };
    const wire = Buffer.from([0x0a, 6, 0x08, 5, 0x12, ...text('nf'), 0x12, ...text('p')]);
    expect(Buffer.from(Response.encode(response).finish())).toEqual(wire);
    expect(Response.decode(wire)).toEqual(response);
  });
});

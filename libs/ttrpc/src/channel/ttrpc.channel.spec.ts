import { describe, expect, it, jest } from '@jest/globals';
import { duplexPair } from 'node:stream';
import { encodeFrame, MAX_MESSAGE_LENGTH, MessageType, type FrameHeader } from '../wire/frame';
import { TtrpcChannel } from './ttrpc.channel';

function openChannel() {
  const [local, remote] = duplexPair();
  const received: Array<[number, string]> = [];
  const oversized: FrameHeader[] = [];
  const closed = jest.fn<(cause: Error | undefined) => void>();
  const channel = new TtrpcChannel(local, {
    message: (header, payload) => received.push([header.streamId, payload.toString()]),
    oversize: (header) => oversized.push(header),
    closed,
  });
  return { channel, local, remote, received, oversized, closed };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('TtrpcChannel over an in-memory byte stream', () => {
  it('delivers messages whatever the chunking of the stream', async () => {
    const { remote, received } = openChannel();
    const wire = Buffer.concat([encodeFrame(1, MessageType.Request, Buffer.from('one')), encodeFrame(3, MessageType.Request, Buffer.from('two'))]);
    remote.write(wire.subarray(0, 5));
    remote.write(wire.subarray(5, 16));
    remote.write(wire.subarray(16));
    await tick();
    expect(received).toEqual([
      [1, 'one'],
      [3, 'two'],
    ]);
  });

  it('frames what it sends', async () => {
    const { channel, remote } = openChannel();
    const chunks: Buffer[] = [];
    remote.on('data', (chunk: Buffer) => chunks.push(chunk));
    channel.send(5, MessageType.Response, Buffer.from('answer'));
    await tick();
    expect(Buffer.concat(chunks)).toEqual(encodeFrame(5, MessageType.Response, Buffer.from('answer')));
  });

  it('reports an oversized message and reads the next one', async () => {
    const { remote, received, oversized } = openChannel();
    const header = encodeFrame(7, MessageType.Request, Buffer.alloc(0));
    header.writeUInt32BE(MAX_MESSAGE_LENGTH + 10, 0);
    remote.write(header);
    remote.write(Buffer.alloc(MAX_MESSAGE_LENGTH + 10));
    remote.write(encodeFrame(9, MessageType.Request, Buffer.from('after')));
    await tick();
    expect(oversized).toEqual([{ length: MAX_MESSAGE_LENGTH + 10, streamId: 7, type: MessageType.Request, flags: 0 }]);
    expect(received).toEqual([[9, 'after']]);
  });

  it('closes once when the peer ends its side, and sends nothing after', async () => {
    const { channel, local, remote, closed } = openChannel();
    remote.end();
    await tick();
    expect(closed).toHaveBeenCalledTimes(1);
    expect(closed).toHaveBeenCalledWith(undefined);
    expect(local.destroyed).toBe(true);
    expect(() => channel.send(1, MessageType.Request, Buffer.from('late'))).not.toThrow();
  });

  it('reports the failure that closed the stream', async () => {
    const { local, closed } = openChannel();
    local.destroy(new Error('EPIPE'));
    await tick();
    expect(closed).toHaveBeenCalledWith(new Error('EPIPE'));
  });

  it('close() destroys the stream and reports the close once', async () => {
    const { channel, local, closed } = openChannel();
    channel.close();
    channel.close();
    await tick();
    expect(local.destroyed).toBe(true);
    expect(closed).toHaveBeenCalledTimes(1);
  });
});

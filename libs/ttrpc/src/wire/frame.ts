import { TtrpcError } from '../errors/ttrpc.error';

// ttrpc's framing, as channel.go of containerd/ttrpc 1.1.1 has it: a 10-byte header, then the
// payload. Header: payload length (uint32, big-endian), stream id (uint32, big-endian), message
// type (uint8), flags (uint8, reserved: 1.1.1 sends 0 and reads nothing from it).

/** Bytes in a message header. */
export const HEADER_LENGTH = 10;

/** The largest payload ttrpc accepts (`messageLengthMax`, 4 MiB); a larger one is read, dropped and answered with RESOURCE_EXHAUSTED. */
export const MAX_MESSAGE_LENGTH = 4 << 20;

/**
 * The message types of ttrpc 1.1.1, the version Debian 12 ships. Newer ttrpc adds 3 (data, for
 * streaming methods), which 1.1.1 does not have; a receiver ignores types it does not know.
 */
export const MessageType = { Request: 1, Response: 2 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** A message header as read: `type` is any byte, since a peer may send types this side does not know. */
export interface FrameHeader {
  length: number;
  streamId: number;
  type: number;
  flags: number;
}

/** The header and payload of one message, ready to write. */
export function encodeFrame(streamId: number, type: MessageType, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(streamId, 4);
  frame.writeUInt8(type, 8);
  frame.writeUInt8(0, 9);
  frame.set(payload, HEADER_LENGTH);
  return frame;
}

/** Reads a header from the first HEADER_LENGTH bytes of `bytes`. */
export function decodeHeader(bytes: Buffer): FrameHeader {
  return { length: bytes.readUInt32BE(0), streamId: bytes.readUInt32BE(4), type: bytes.readUInt8(8), flags: bytes.readUInt8(9) };
}

/** The RESOURCE_EXHAUSTED error for a message of `length` bytes, worded as ttrpc-go words it. */
export function messageTooLarge(length: number): TtrpcError {
  return new TtrpcError('RESOURCE_EXHAUSTED', `message length ${length} exceed maximum message size of ${MAX_MESSAGE_LENGTH}`);
}

/**
 * Connection ids shaped like API Gateway's ("L0SM9cOFvHcCIhw="): 11 bytes as 16 base64
 * characters ending in '='. The URL-safe alphabet keeps an id one path segment of the
 * @connections API. The id also names the worker process that owns the socket, so any
 * worker can route a management call without a shared table:
 *   byte 0      = (byte 1 + worker index) mod 256 (hidden, so ids still look random)
 *   bytes 1..6  = random (ids of an earlier gateway run never match: stale rows stay gone)
 *   bytes 7..10 = per-worker counter (unique within a run)
 */
import { randomBytes } from 'node:crypto';

const ID_BYTES = 11;
const ID_LENGTH = 16;
export const MAX_WORKERS = 256;

export class ConnectionIdFactory {
  private counter = randomBytes(4).readUInt32BE(0);

  constructor(private readonly workerIndex: number) {
    if (!Number.isInteger(workerIndex) || workerIndex < 0 || workerIndex >= MAX_WORKERS) {
      throw new RangeError(`worker index must be an integer in [0, ${MAX_WORKERS}), got ${workerIndex}`);
    }
  }

  next(): string {
    const bytes = Buffer.allocUnsafe(ID_BYTES);
    randomBytes(6).copy(bytes, 1);
    this.counter = (this.counter + 1) >>> 0;
    bytes.writeUInt32BE(this.counter, 7);
    bytes[0] = (bytes[1] + this.workerIndex) & 0xff;
    return `${bytes.toString('base64url')}=`;
  }
}

/** The worker index an id was minted by, or undefined when the string is no connection id of ours. */
export function workerIndexOf(connectionId: string): number | undefined {
  if (connectionId.length !== ID_LENGTH || !connectionId.endsWith('=')) return undefined;
  const bytes = Buffer.from(connectionId.slice(0, ID_LENGTH - 1), 'base64url');
  if (bytes.length !== ID_BYTES) return undefined;
  return (bytes[0] - bytes[1]) & 0xff;
}

/** A random id in the same format for API Gateway's requestId / extendedRequestId / messageId. */
export function randomRequestId(): string {
  return `${randomBytes(ID_BYTES).toString('base64url')}=`;
}

/**
 * Virtual connection ids (virtual-connections.ts): the same shape, owner in byte 0, but
 * bytes 1..6 are the fixed mark "VIRTUA" instead of random (a real id matches it with
 * probability 2^-48) and bytes 7..10 are the id's number n; worker n mod workerCount owns it.
 */
const VIRTUAL_MARK = Buffer.from('VIRTUA', 'latin1');

export function virtualConnectionId(n: number, workerCount: number): string {
  const bytes = Buffer.allocUnsafe(ID_BYTES);
  VIRTUAL_MARK.copy(bytes, 1);
  bytes.writeUInt32BE(n, 7);
  bytes[0] = (bytes[1] + (n % workerCount)) & 0xff;
  return `${bytes.toString('base64url')}=`;
}

/** The number n of a virtual connection id, or undefined when the id is not virtual. */
export function virtualNumberOf(connectionId: string): number | undefined {
  if (connectionId.length !== ID_LENGTH || !connectionId.endsWith('=')) return undefined;
  const bytes = Buffer.from(connectionId.slice(0, ID_LENGTH - 1), 'base64url');
  if (bytes.length !== ID_BYTES || !VIRTUAL_MARK.equals(bytes.subarray(1, 7))) return undefined;
  return bytes.readUInt32BE(7);
}

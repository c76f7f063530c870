/**
 * Worker-to-worker forwarding of @connections calls. Any worker may receive a call (the
 * management port is shared), but only the owner of the socket can write to it. Instead of
 * a second HTTP hop, the receiving worker sends a small binary frame over a persistent
 * abstract Unix socket link to the owner (worker.ts's peerAddressOf), which answers with the ManagementResult. Frames written
 * in the same tick go out in one syscall (cork until nextTick), so under a broadcast the
 * forwarding cost is a few microseconds per post.
 *
 * The same link carries token leases of the shared throttles (token-bucket.ts) to the
 * bucket's owner: op LEASE, no id, data = u8 bucket | u16 worker | u32 stock | u32 want, answered with
 * status 200 and the tokens granted as the body.
 *
 * Request frame:  u32 length | u8 op | u32 requestId | u8 idLength | id | data
 * Response frame: u32 length | u32 requestId | u16 status | u8 errorTypeLength | errorType | body
 * (length counts the bytes after itself)
 */
import net from 'node:net';
import { type ManagementResult, RESULTS } from './management-results';

export type ManagementOp = 'post' | 'describe' | 'delete';
export type ExecuteLocally = (op: ManagementOp, connectionId: string, data: Buffer) => ManagementResult;
/** Grants up to `want` tokens of shared bucket `bucket` to `worker`, which still holds `stock` tokens. */
export type GrantLease = (bucket: number, worker: number, stock: number, want: number) => number;

const OPS: ManagementOp[] = ['post', 'describe', 'delete'];
const LEASE_OP = 255;

/** Listens for links from the other workers and answers their calls with `execute` and `grantLease`. */
export async function startPeerServer(
  address: string,
  execute: ExecuteLocally,
  grantLease: GrantLease,
): Promise<net.Server> {
  const server = net.createServer((socket) => {
    const out = new CorkedWriter(socket);
    readFrames(socket, (frame) => {
      const requestId = frame.readUInt32BE(1);
      if (frame[0] === LEASE_OP) {
        const granted = grantLease(frame[6], frame.readUInt16BE(7), frame.readUInt32BE(9), frame.readUInt32BE(13));
        out.write(encodeResponse(requestId, { status: 200, body: String(granted) }));
        return;
      }
      const op = OPS[frame[0]];
      const idLength = frame[5];
      const connectionId = frame.toString('latin1', 6, 6 + idLength);
      const result = execute(op, connectionId, frame.subarray(6 + idLength));
      out.write(encodeResponse(requestId, result));
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: address }, () => resolve());
  });
  return server;
}

/** This worker's link to one peer worker. */
export class PeerLink {
  private readonly socket: net.Socket;
  private readonly out: CorkedWriter;
  private readonly pending = new Map<number, (result: ManagementResult) => void>();
  private nextRequestId = 0;
  private closed = false;

  constructor(address: string) {
    this.socket = net.connect({ path: address });
    this.out = new CorkedWriter(this.socket);
    readFrames(this.socket, (frame) => {
      const requestId = frame.readUInt32BE(0);
      const resolve = this.pending.get(requestId);
      this.pending.delete(requestId);
      resolve?.(decodeResponse(frame));
    });
    // A peer that went away took its sockets with it: everything it owned is gone.
    const fail = () => {
      this.closed = true;
      for (const resolve of this.pending.values()) resolve(RESULTS.gone);
      this.pending.clear();
    };
    this.socket.on('error', fail);
    this.socket.on('close', fail);
  }

  forward(op: ManagementOp, connectionId: string, data: Buffer): Promise<ManagementResult> {
    return this.request(OPS.indexOf(op), connectionId, data);
  }

  /** Asks the owner of shared bucket `bucket` for tokens; rejects when the owner is gone. */
  async lease(bucket: number, worker: number, stock: number, want: number): Promise<number> {
    const data = Buffer.allocUnsafe(11);
    data[0] = bucket;
    data.writeUInt16BE(worker, 1);
    data.writeUInt32BE(stock, 3);
    data.writeUInt32BE(want, 7);
    const result = await this.request(LEASE_OP, '', data);
    if (result.status !== 200) throw new Error('the owner of the shared throttle is gone');
    return Number(result.body);
  }

  close(): void {
    this.socket.destroy();
  }

  private request(opCode: number, connectionId: string, data: Buffer): Promise<ManagementResult> {
    if (this.closed) return Promise.resolve(RESULTS.gone);
    const requestId = this.nextRequestId;
    this.nextRequestId = (this.nextRequestId + 1) >>> 0;
    const idLength = Buffer.byteLength(connectionId, 'latin1');
    const frame = Buffer.allocUnsafe(4 + 1 + 4 + 1 + idLength + data.length);
    frame.writeUInt32BE(frame.length - 4, 0);
    frame[4] = opCode;
    frame.writeUInt32BE(requestId, 5);
    frame[9] = idLength;
    frame.write(connectionId, 10, 'latin1');
    data.copy(frame, 10 + idLength);
    return new Promise((resolve) => {
      this.pending.set(requestId, resolve);
      this.out.write(frame);
    });
  }
}

function encodeResponse(requestId: number, result: ManagementResult): Buffer {
  const errorType = result.errorType ?? '';
  const body = result.body ?? '';
  const errorTypeLength = Buffer.byteLength(errorType, 'latin1');
  const frame = Buffer.allocUnsafe(4 + 4 + 2 + 1 + errorTypeLength + Buffer.byteLength(body));
  frame.writeUInt32BE(frame.length - 4, 0);
  frame.writeUInt32BE(requestId, 4);
  frame.writeUInt16BE(result.status, 8);
  frame[10] = errorTypeLength;
  frame.write(errorType, 11, 'latin1');
  frame.write(body, 11 + errorTypeLength);
  return frame;
}

function decodeResponse(frame: Buffer): ManagementResult {
  const status = frame.readUInt16BE(4);
  const errorTypeLength = frame[6];
  const result: ManagementResult = { status };
  if (errorTypeLength > 0) result.errorType = frame.toString('latin1', 7, 7 + errorTypeLength);
  if (frame.length > 7 + errorTypeLength) result.body = frame.toString('utf8', 7 + errorTypeLength);
  return result;
}

/** Calls onFrame with each length-prefixed frame's payload (without the length). */
function readFrames(socket: net.Socket, onFrame: (frame: Buffer) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let offset = 0;
    while (buffered.length - offset >= 4) {
      const length = buffered.readUInt32BE(offset);
      if (buffered.length - offset - 4 < length) break;
      onFrame(buffered.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    buffered = buffered.subarray(offset);
  });
}

/** Batches the writes of one tick into one syscall. */
class CorkedWriter {
  private corked = false;

  constructor(private readonly socket: net.Socket) {}

  write(frame: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
  }
}

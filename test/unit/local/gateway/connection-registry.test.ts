/**
 * The @connections decisions one gateway worker makes per post (local/gateway/connection-registry.ts):
 * 429 for a socket whose unsent bytes would pass its bound, or the worker's; 410 for an id it does not hold.
 */
import WebSocket from 'ws';
import { ConnectionRegistry, type LocalConnection } from '../../../../local/gateway/connection-registry';
import { RESULTS } from '../../../../local/gateway/management-results';

/** A socket that never drains: every sent byte stays buffered, as with a client that stopped reading. */
function stalledSocket(): {
  socket: { readyState: number; bufferedAmount: number; send(data: Buffer): void; close(): void };
  sent: Buffer[];
} {
  const sent: Buffer[] = [];
  const socket = {
    readyState: WebSocket.OPEN,
    bufferedAmount: 0,
    send(data: Buffer) {
      sent.push(data);
      socket.bufferedAmount += data.length;
    },
    close: () => undefined,
  };
  return { socket, sent };
}

const connectionOf = (connectionId: string, socket: unknown): LocalConnection => ({
  facts: { connectionId, connectedAt: 0, sourceIp: '127.0.0.1', userAgent: 'test' } as LocalConnection['facts'],
  socket: socket as WebSocket,
  lastActiveAt: 0,
});

describe('ConnectionRegistry.post', () => {
  let registry: ConnectionRegistry;
  afterEach(() => registry.stopSweeping());

  it("answers 429 LimitExceededException once a socket's unsent bytes would pass its own bound, and sends nothing then", () => {
    // prepare: 1,000 bytes per socket, far more for the worker; a slow socket and a healthy one
    registry = new ConnectionRegistry({
      idleTimeoutMs: 600_000,
      maxConnectionMs: 7_200_000,
      maxBufferedBytes: 1_000,
      maxBufferedBytesTotal: 1_000_000,
    });
    const slow = stalledSocket();
    const healthy = stalledSocket();
    registry.add(connectionOf('slow', slow.socket));
    registry.add(connectionOf('healthy', healthy.socket));

    // act: three posts of 400 bytes to the slow socket (the third would make 1,200), then one to the healthy one
    const answers = [1, 2, 3].map(() => registry.post('slow', Buffer.alloc(400, 'a')));
    const other = registry.post('healthy', Buffer.alloc(400, 'a'));

    // assess: only the slow socket is refused; the healthy one is not held back by it
    expect(answers).toEqual([RESULTS.posted, RESULTS.posted, RESULTS.limitExceeded]);
    expect(slow.sent).toHaveLength(2);
    expect(other).toEqual(RESULTS.posted);
    expect(registry.counters).toMatchObject({ posts: 3, limitExceeded: 1, limitExceededTotal: 0 });
  });

  it('answers 429 once all sockets of the worker together would hold more than its bound', () => {
    // prepare: each socket may hold 1,000 bytes, the worker 1,000 in all
    registry = new ConnectionRegistry({
      idleTimeoutMs: 600_000,
      maxConnectionMs: 7_200_000,
      maxBufferedBytes: 1_000,
      maxBufferedBytesTotal: 1_000,
    });
    const sockets = ['a', 'b', 'c'].map((id) => {
      const stalled = stalledSocket();
      registry.add(connectionOf(id, stalled.socket));
      return stalled;
    });

    // act
    const answers = ['a', 'b', 'c'].map((id) => registry.post(id, Buffer.alloc(400, 'x')));

    // assess
    expect(answers).toEqual([RESULTS.posted, RESULTS.posted, RESULTS.limitExceeded]);
    expect(sockets[2].sent).toHaveLength(0);
    expect(registry.counters).toMatchObject({ limitExceeded: 1, limitExceededTotal: 1 });
  });

  it('answers 410 GoneException for an id it does not hold, and for a socket no longer open', () => {
    registry = new ConnectionRegistry({
      idleTimeoutMs: 600_000,
      maxConnectionMs: 7_200_000,
      maxBufferedBytes: 1_000,
      maxBufferedBytesTotal: 1_000,
    });
    const closing = stalledSocket();
    closing.socket.readyState = WebSocket.CLOSING;
    registry.add(connectionOf('closing', closing.socket));

    expect(registry.post('never-connected', Buffer.from('x'))).toEqual(RESULTS.gone);
    expect(registry.post('closing', Buffer.from('x'))).toEqual(RESULTS.gone);
    expect(registry.describe('never-connected')).toEqual(RESULTS.gone);
    expect(registry.delete('never-connected')).toEqual(RESULTS.gone);
    expect(closing.sent).toHaveLength(0);
  });
});

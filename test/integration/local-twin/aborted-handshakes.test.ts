/**
 * Clients that drop while $connect runs: on AWS a $connect whose socket is gone before it
 * completes leaves no connection. The real handlers against the real local DynamoDB: ~50
 * upgrades are aborted right after the handshake is sent (half of them closing their side, half
 * resetting), and no row of the Connections table is left once every handshake is over.
 */
import net from 'node:net';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { waitUntil } from '../helpers/broadcasts';
import { localDynamo, scanAll } from '../../../local/inspection';

jest.setTimeout(120_000);

const ABORTED = 50;

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ config: { partitions: 8, shards: 1 } });
}, 120_000);
afterAll(() => stack?.stop(), 60_000);

/** Rows of the Connections table, whatever its key schema: every item a scan returns. */
async function connectionRows(): Promise<number> {
  const dynamo = localDynamo(stack);
  try {
    return (await scanAll(dynamo, stack.tableNames.Connections)).length;
  } finally {
    dynamo.destroy();
  }
}

/** Sends a valid upgrade and leaves at once: `end` closes its side (FIN), `reset` destroys the socket. */
function abortedUpgrade(how: 'end' | 'reset'): Promise<void> {
  const { port, pathname } = new URL(stack.webSocketUrl);
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: Number(port) }, () => {
      socket.write(
        `GET ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        () => (how === 'end' ? socket.end() : socket.resetAndDestroy()),
      );
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

test(`${ABORTED} upgrades aborted while $connect runs leave no connection row`, async () => {
  await Promise.all(Array.from({ length: ABORTED }, (_, i) => abortedUpgrade(i % 2 === 0 ? 'end' : 'reset')));
  // Every handshake answered or dropped, and every $disconnect it started ended: then the table is final.
  await waitUntil(async () => {
    const stats = await stack.gateway.stats();
    return stats.workers.every((w) => w.connectsInFlight === 0 && w.disconnectsInFlight === 0);
  });
  const stats = await stack.gateway.stats();

  expect(stats.connections).toBe(0);
  expect(await connectionRows()).toBe(0);
});

/**
 * The local gateway runs the deployer's $connect authorizer before $connect, as API Gateway
 * does: the example authorizer (examples/connect-authorizer.ts) against real sockets on 127.0.0.1.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { type Gateway, startGateway } from '../../../local/gateway';

jest.setTimeout(60_000);

const SECRET = 'integration-test-secret-0123456789';
process.env.CONNECT_AUTHORIZER_SECRET = SECRET;
const { issueToken } =
  require('../../../examples/connect-authorizer') as typeof import('../../../examples/connect-authorizer');

let gateway: Gateway;
let dir: string;
const connectEvents = () => {
  try {
    return readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'authorizer-test-'));
  gateway = await startGateway({
    handlers: {
      connect: join(__dirname, '..', 'fixtures', 'gateway-handlers', 'connect.ts'),
      authorizer: join(__dirname, '..', '..', '..', 'examples', 'connect-authorizer.ts'),
    },
    env: { GATEWAY_EVENTS_FILE: join(dir, 'events.jsonl'), CONNECT_AUTHORIZER_SECRET: SECRET },
  });
});

afterAll(async () => {
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The handshake's outcome: "open", or the HTTP status the gateway refused it with. */
function attempt(query: string): Promise<'open' | number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${gateway.webSocketUrl}${query}`);
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('error', () => undefined);
  });
}

test('no token: 401, and $connect never runs', async () => {
  await expect(attempt('')).resolves.toBe(401);
  expect(connectEvents()).toBe(0);
});

test('a token the authorizer denies: 403, and $connect never runs', async () => {
  await expect(attempt(`?token=${issueToken(Math.floor(Date.now() / 1000) - 10)}`)).resolves.toBe(403);
  await expect(
    attempt(`?token=${issueToken(Math.floor(Date.now() / 1000) + 600, 'wrong-secret-wrong-secret')}`),
  ).resolves.toBe(403);
  expect(connectEvents()).toBe(0);
});

test('a valid token: the client connects, after $connect ran', async () => {
  await expect(attempt(`?token=${issueToken(Math.floor(Date.now() / 1000) + 600)}`)).resolves.toBe('open');
  expect(connectEvents()).toBe(1);
});

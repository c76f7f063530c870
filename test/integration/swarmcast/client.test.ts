/**
 * The client helper (client/swarmcast-client.ts) with `ws` against the local gateway on loopback,
 * with the real @aws-sdk/client-apigatewaymanagementapi posting to it. The gateway's idle timeout
 * is shortened, and the client's timings with it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import WebSocket from 'ws';
import { frameWithBroadcastId } from '#commons/broadcast-request';
import {
  SwarmcastClient,
  type SwarmcastClientTiming,
  type WebSocketConstructor,
} from '../../../client/swarmcast-client';
import { type Gateway, startGateway } from '../../../local/gateway';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local-account';

const FIXTURES = join(__dirname, '..', 'fixtures', 'gateway-handlers');

interface RecordedEvent {
  requestContext: { routeKey: string; connectionId: string };
  queryStringParameters?: Record<string, string>;
}

let gateway: Gateway;
let dir: string;
const IDLE_TIMEOUT_MS = 1_000;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'client-test-'));
  gateway = await startGateway({
    handlers: {
      connect: join(FIXTURES, 'connect.ts'),
      disconnect: join(FIXTURES, 'disconnect.ts'),
      default: join(FIXTURES, 'default.ts'),
    },
    env: { GATEWAY_EVENTS_FILE: join(dir, 'events.jsonl') },
    idleTimeoutMs: IDLE_TIMEOUT_MS,
  });
});
afterAll(async () => {
  await gateway.stop();
  rmSync(dir, { recursive: true, force: true });
});

function events(): RecordedEvent[] {
  try {
    return readFileSync(join(dir, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as RecordedEvent);
  } catch {
    return [];
  }
}

/** The connection ids of the $connect (or $disconnect) events of sockets opened with `?tag=`. */
const connectionIds = (tag: string, routeKey = '$connect') => {
  const tagged = new Set(
    events()
      .filter((e) => e.queryStringParameters?.tag === tag)
      .map((e) => e.requestContext.connectionId),
  );
  return events()
    .filter((e) => e.requestContext.routeKey === routeKey && tagged.has(e.requestContext.connectionId))
    .map((e) => e.requestContext.connectionId);
};

/** Polls `probe` until it holds; the test's timeout bounds the wait. */
async function until(probe: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await probe())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** A client of the helper that records what it is told. */
function helperClient(tag: string, timing: Partial<SwarmcastClientTiming>) {
  const seen = { opens: 0, closes: 0, messages: [] as [string, string | undefined][] };
  const client = new SwarmcastClient({
    url: `${gateway.webSocketUrl}?tag=${tag}`,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    onMessage: (message, id) => seen.messages.push([message, id]),
    onOpen: () => seen.opens++,
    onClose: () => seen.closes++,
    timing,
  });
  client.start();
  return { client, seen };
}

const management = () =>
  new ApiGatewayManagementApiClient({
    endpoint: gateway.connectionsEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });

test('the helper keeps its socket past the idle timeout with pings, drops a repeated broadcast, and reconnects when the socket is deleted', async () => {
  const { client, seen } = helperClient('helper', {
    keepAliveMs: { min: IDLE_TIMEOUT_MS / 5, max: IDLE_TIMEOUT_MS / 4 },
    backoffMs: { base: 50, cap: 200 },
  });
  await until(() => seen.opens === 1);
  // A quiet socket opened after the helper's: once the idle timeout closes it, the helper's has outlived it too.
  const quiet = new WebSocket(gateway.webSocketUrl);
  await new Promise((resolve) => quiet.once('close', resolve));

  expect(seen.closes).toBe(0);
  expect((await gateway.stats()).workers[0].keepAlives).toBeGreaterThan(0);

  const [connectionId] = connectionIds('helper');
  const api = management();
  const frame = frameWithBroadcastId('b-1', 'hello');
  for (const data of [frame, frame, 'bare'])
    await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
  await until(() => seen.messages.length === 2);
  expect(seen.messages).toEqual([
    ['hello', 'b-1'],
    ['bare', undefined],
  ]);
  expect(client.repeatsDropped).toBe(1);

  await api.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  await until(() => seen.opens === 2);
  expect(seen.closes).toBe(1);
  expect(connectionIds('helper')).toHaveLength(2);
  client.close();
});

test('the planned reconnect opens a new socket first, then closes the old one itself', async () => {
  const { client, seen } = helperClient('recycled', { recycleAfterMs: { min: 300, max: 400 } });
  await until(() => seen.opens === 2);

  const [first, second] = connectionIds('recycled');
  await until(() => connectionIds('recycled', '$disconnect').includes(first));
  client.close();

  expect(second).toBeDefined();
  expect(seen.closes).toBe(0);
});

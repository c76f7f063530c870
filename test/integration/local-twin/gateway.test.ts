/**
 * The local API Gateway emulator (local/gateway) against real sockets on 127.0.0.1 and the
 * real @aws-sdk/client-apigatewaymanagementapi. Route handlers are the tiny fixtures in
 * fixtures/gateway-handlers, which append every event they see to a file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import aws4 from 'aws4';
import { Pool } from 'undici';
import WebSocket from 'ws';
import { ConnectionPoster, preparePayload } from '#commons/clients/management-api';
import { type Gateway, type GatewayOptions, startGateway } from '../../../local/gateway';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local-account';
import { KEEP_ALIVE_MESSAGE } from '../../../client/protocol';

// Starting worker processes takes a second or two, more on a loaded machine.
jest.setTimeout(60_000);

const FIXTURES = join(__dirname, '..', 'fixtures', 'gateway-handlers');
const HANDLERS = {
  connect: join(FIXTURES, 'connect.ts'),
  disconnect: join(FIXTURES, 'disconnect.ts'),
  default: join(FIXTURES, 'default.ts'),
};

interface RecordedEvent {
  requestContext: Record<string, unknown> & { routeKey: string; connectionId: string };
  headers?: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  body?: string;
  isBase64Encoded: boolean;
}

/** A gateway whose handlers record their events into a fresh temporary file. */
async function startRecordingGateway(options: Partial<GatewayOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
  const eventsFile = join(dir, 'events.jsonl');
  const gateway = await startGateway({ ...options, handlers: HANDLERS, env: { GATEWAY_EVENTS_FILE: eventsFile } });
  const events = (): RecordedEvent[] => {
    try {
      return readFileSync(eventsFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as RecordedEvent);
    } catch {
      return [];
    }
  };
  const cleanup = async () => {
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { gateway, events, cleanup };
}

function managementClient(gateway: Gateway, credentials = LOCAL_CREDENTIALS): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint: gateway.connectionsEndpoint,
    region: LOCAL_REGION,
    credentials,
    maxAttempts: 1,
  });
}

/** A WebSocket client that queues what it receives. */
class TestClient {
  readonly received: string[] = [];
  private waiters: (() => void)[] = [];
  closed?: { code: number; reason: string };

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.received.push(data.toString());
      this.wake();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  static connect(url: string): Promise<TestClient> {
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Resolves with the next message not yet taken (the test's own timeout bounds the wait). */
  async next(): Promise<string> {
    await this.until(() => this.received.length > 0);
    return this.received.shift()!;
  }

  async whoami(): Promise<string> {
    this.socket.send('whoami');
    return this.next();
  }

  untilClosed(): Promise<void> {
    return this.until(() => this.closed !== undefined);
  }

  close(): void {
    this.socket.close();
  }

  /** Waits for an event of the socket, with no clock of its own: a loaded machine is slow, not wrong. */
  private until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!ready()) return this.waiters.push(check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}

/** Polls the handlers' event file until `probe` finds what it looks for; the test's timeout bounds it. */
async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]);
  });
  await Promise.all(lanes);
}

describe('local API Gateway, one worker', () => {
  let recording: Awaited<ReturnType<typeof startRecordingGateway>>;
  let client: ApiGatewayManagementApiClient;

  beforeAll(async () => {
    recording = await startRecordingGateway();
    client = managementClient(recording.gateway);
  });
  afterAll(() => recording.cleanup());

  test('$connect receives an API Gateway event; a post reaches the socket', async () => {
    const socket = await TestClient.connect(`${recording.gateway.webSocketUrl}?token=abc`);
    const connectionId = await socket.whoami();

    await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'hello, socket' }));

    expect(await socket.next()).toBe('hello, socket');
    expect(connectionId).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    const connect = recording.events().find((e) => e.requestContext.connectionId === connectionId)!;
    expect(connect.requestContext).toMatchObject({
      routeKey: '$connect',
      eventType: 'CONNECT',
      stage: 'live',
      identity: { sourceIp: '127.0.0.1' },
    });
    expect(connect.requestContext).toEqual(
      expect.objectContaining({
        apiId: expect.any(String),
        requestId: expect.any(String),
        domainName: expect.any(String),
      }),
    );
    expect(connect.requestContext.connectedAt).toEqual(expect.any(Number));
    expect(connect.requestContext.requestTimeEpoch).toEqual(expect.any(Number));
    expect(connect.queryStringParameters).toEqual({ token: 'abc' });
    expect(connect.headers).toHaveProperty('Sec-WebSocket-Key');
    expect(connect.isBase64Encoded).toBe(false);
    socket.close();
  });

  test('$default answers "ping" with its returned body; a failing handler sends the API Gateway error', async () => {
    const socket = await TestClient.connect(recording.gateway.webSocketUrl);
    const connectionId = await socket.whoami();

    socket.socket.send('ping');
    const pong = await socket.next();
    socket.socket.send('boom');
    const failure = JSON.parse(await socket.next()) as Record<string, string>;

    expect(pong).toBe('pong');
    expect(failure).toMatchObject({ message: 'Internal server error', connectionId });
    const message = recording
      .events()
      .find((e) => e.requestContext.connectionId === connectionId && e.body === 'ping')!;
    expect(message.requestContext).toMatchObject({ routeKey: '$default', eventType: 'MESSAGE', connectionId });
    socket.close();
  });

  test('posting to an unknown connection throws GoneException', async () => {
    const socket = await TestClient.connect(recording.gateway.webSocketUrl);
    const connectionId = await socket.whoami();
    socket.close();
    await socket.untilClosed();

    const postToClosed = client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'late' }));
    const postToUnknown = client.send(new PostToConnectionCommand({ ConnectionId: 'L0SM9cOFvHcCIhw=', Data: 'x' }));
    const postToGarbage = client.send(new PostToConnectionCommand({ ConnectionId: 'not-an-id', Data: 'x' }));

    await expect(postToClosed).rejects.toBeInstanceOf(GoneException);
    await expect(postToUnknown).rejects.toBeInstanceOf(GoneException);
    await expect(postToGarbage).rejects.toMatchObject({ name: 'GoneException', $metadata: { httpStatusCode: 410 } });
  });

  test('the @connections API checks SigV4 as API Gateway does: unsigned, unknown key, wrong secret or another path answer 403', async () => {
    const socket = await TestClient.connect(recording.gateway.webSocketUrl);
    const connectionId = await socket.whoami();
    const { origin, host, pathname } = new URL(recording.gateway.connectionsEndpoint);
    const path = `${pathname}/@connections/${encodeURIComponent(connectionId)}`;
    const pool = new Pool(origin);
    const post = async (headers: Record<string, string>) => {
      const response = await pool.request({ method: 'POST', path, headers, body: 'x' });
      const text = await response.body.text();
      return {
        status: response.statusCode,
        errorType: response.headers['x-amzn-errortype'],
        body: text ? JSON.parse(text) : undefined,
      };
    };
    const signedFor = (signedPath: string) =>
      aws4.sign(
        { host, path: signedPath, method: 'POST', service: 'execute-api', region: LOCAL_REGION, body: 'x' },
        LOCAL_CREDENTIALS,
      ).headers as Record<string, string>;

    const unsigned = await post({});
    const otherPath = await post(signedFor(`${pathname}/@connections/${encodeURIComponent('other' + connectionId)}`));
    const samePath = await post(signedFor(path));
    const wrongSecret = managementClient(recording.gateway, {
      ...LOCAL_CREDENTIALS,
      secretAccessKey: 'not-the-secret',
    }).send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' }));
    const unknownKey = managementClient(recording.gateway, { ...LOCAL_CREDENTIALS, accessKeyId: 'AKIDUNKNOWN' }).send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' }),
    );

    expect(unsigned).toEqual({
      status: 403,
      errorType: 'MissingAuthenticationTokenException',
      body: { message: 'Missing Authentication Token' },
    });
    expect(otherPath).toMatchObject({
      status: 403,
      errorType: 'InvalidSignatureException',
      body: { message: expect.stringMatching(/^The request signature we calculated does not match/) },
    });
    expect(samePath.status).toBe(200);
    await expect(wrongSecret).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(unknownKey).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
      $metadata: { httpStatusCode: 403 },
    });
    expect(await socket.next()).toBe('x');
    await pool.close();
    socket.close();
    await socket.untilClosed();
    expect(socket.received).toEqual([]);
  });

  test('a post over 128 KB throws PayloadTooLargeException and the socket gets nothing', async () => {
    const socket = await TestClient.connect(recording.gateway.webSocketUrl);
    const connectionId = await socket.whoami();

    const tooLarge = client.send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x'.repeat(128 * 1024 + 1) }),
    );
    await expect(tooLarge).rejects.toBeInstanceOf(PayloadTooLargeException);
    await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'y'.repeat(128 * 1024) }));

    expect((await socket.next()).length).toBe(128 * 1024);
    socket.close();
  });

  test('GetConnection returns connectedAt, lastActiveAt and identity', async () => {
    const socket = await TestClient.connect(recording.gateway.webSocketUrl);
    const connectionId = await socket.whoami();

    const connection = await client.send(new GetConnectionCommand({ ConnectionId: connectionId }));

    expect(connection.ConnectedAt).toBeInstanceOf(Date);
    expect(connection.LastActiveAt).toBeInstanceOf(Date);
    expect(connection.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(connection.ConnectedAt!.getTime());
    expect(Math.abs(Date.now() - connection.ConnectedAt!.getTime())).toBeLessThan(10_000);
    expect(connection.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: '' });
    socket.close();
  });

  test('DeleteConnection closes the socket and runs $disconnect', async () => {
    const socket = await TestClient.connect(recording.gateway.webSocketUrl);
    const connectionId = await socket.whoami();

    await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    await socket.untilClosed();

    const disconnect = await eventually(() =>
      recording
        .events()
        .find((e) => e.requestContext.connectionId === connectionId && e.requestContext.routeKey === '$disconnect'),
    );
    expect(disconnect.requestContext.eventType).toBe('DISCONNECT');
    await expect(client.send(new GetConnectionCommand({ ConnectionId: connectionId }))).rejects.toBeInstanceOf(
      GoneException,
    );
  });

  test('a $connect handler answering 403 refuses the upgrade; one that throws refuses with 502', async () => {
    const refused = TestClient.connect(`${recording.gateway.webSocketUrl}?status=403`);
    const failed = TestClient.connect(`${recording.gateway.webSocketUrl}?fail=1`);

    await expect(refused).rejects.toThrow('Unexpected server response: 403');
    await expect(failed).rejects.toThrow('Unexpected server response: 502');
    const stats = await recording.gateway.stats();
    expect(stats.workers[0].connectsRefused).toBeGreaterThanOrEqual(2);
  });
});

describe('local API Gateway, failures', () => {
  test('startGateway rejects when a handler module cannot be loaded', async () => {
    const starting = startGateway({ handlers: { connect: join(FIXTURES, 'no-such-handler.ts') } });

    await expect(starting).rejects.toThrow(/gateway worker 0/);
  });

  test('a crashed worker is reported, its connections are gone, and stop() still resolves', async () => {
    const onWorkerExit = jest.fn();
    const recording = await startRecordingGateway({ workers: 2, onWorkerExit });
    try {
      const client = managementClient(recording.gateway);
      const sockets = await Promise.all(
        Array.from({ length: 20 }, () => TestClient.connect(recording.gateway.webSocketUrl)),
      );
      const ids = await Promise.all(sockets.map((s) => s.whoami()));
      const [victim] = (await recording.gateway.stats()).workers;

      process.kill(victim.pid, 'SIGKILL');
      await eventually(() => (onWorkerExit.mock.calls.length > 0 ? true : undefined));
      const outcomes = await Promise.allSettled(
        ids.map((id) => client.send(new GetConnectionCommand({ ConnectionId: id }))),
      );

      expect(onWorkerExit).toHaveBeenCalledWith(0, null, 'SIGKILL');
      const gone = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof GoneException).length;
      const alive = outcomes.filter((o) => o.status === 'fulfilled').length;
      expect(victim.connections).toBeGreaterThan(0);
      expect(gone).toBe(victim.connections);
      expect(alive).toBe(20 - victim.connections);
    } finally {
      await recording.cleanup();
    }
  });
});

// Each gateway has one limit short and the other far beyond the test, so a slow machine cannot
// make one limit close a socket the test meant for the other.
describe('local API Gateway, timeouts', () => {
  test('an idle socket is closed with 1001 "Going away" and $disconnect runs', async () => {
    const recording = await startRecordingGateway({ idleTimeoutMs: 300 });
    try {
      const socket = await TestClient.connect(`${recording.gateway.webSocketUrl}?tag=idle`);

      await socket.untilClosed();

      expect(socket.closed).toEqual({ code: 1001, reason: 'Going away' });
      const connect = await eventually(() => recording.events().find((e) => e.queryStringParameters?.tag === 'idle'));
      await eventually(() =>
        recording
          .events()
          .find(
            (e) =>
              e.requestContext.connectionId === connect.requestContext.connectionId &&
              e.requestContext.routeKey === '$disconnect',
          ),
      );
    } finally {
      await recording.cleanup();
    }
  });

  test('a busy socket is still closed at the maximum connection duration', async () => {
    const recording = await startRecordingGateway({ maxConnectionMs: 1_500 });
    try {
      const socket = await TestClient.connect(recording.gateway.webSocketUrl);
      const connectedAt = Date.now();
      const keepBusy = setInterval(
        () => socket.socket.readyState === WebSocket.OPEN && socket.socket.send('ping'),
        100,
      );

      await socket.untilClosed();
      clearInterval(keepBusy);

      expect(socket.closed?.code).toBe(1001);
      expect(Date.now() - connectedAt).toBeGreaterThanOrEqual(1_400);
    } finally {
      await recording.cleanup();
    }
  });
});

describe('local API Gateway, the keep-alive route', () => {
  test('{"action":"ping"} keeps a socket open past the idle timeout, runs no function and sends nothing back', async () => {
    const recording = await startRecordingGateway({ idleTimeoutMs: 1_000 });
    try {
      const pinger = await TestClient.connect(`${recording.gateway.webSocketUrl}?tag=pinger`);
      let pings = 0;
      const keepAlive = setInterval(() => {
        pinger.socket.send(KEEP_ALIVE_MESSAGE);
        pings++;
      }, 200);
      // A quiet socket opened after the pinger: once the idle timeout closes it, the pinger has outlived the timeout too.
      const quiet = await TestClient.connect(recording.gateway.webSocketUrl);
      await quiet.untilClosed();
      clearInterval(keepAlive);

      expect(quiet.closed?.code).toBe(1001);
      expect(pinger.closed).toBeUndefined();
      await eventually(async () =>
        (await recording.gateway.stats()).workers[0].keepAlives === pings ? true : undefined,
      );
      // The old keep-alive still works through $default; its "pong" is the first thing the pinger ever received.
      pinger.socket.send('ping');
      expect(await pinger.next()).toBe('pong');
      expect(pinger.received).toEqual([]);
      const connect = await eventually(() => recording.events().find((e) => e.queryStringParameters?.tag === 'pinger'));
      const messages = recording
        .events()
        .filter(
          (e) =>
            e.requestContext.connectionId === connect.requestContext.connectionId &&
            e.requestContext.routeKey === '$default',
        );
      expect(messages.map((e) => e.body)).toEqual(['ping']);
      pinger.close();
    } finally {
      await recording.cleanup();
    }
  });

  test('a ping counts against the throttle like any client message', async () => {
    // The handshake takes one of the two tokens; at 1/s the next few pings find the bucket empty.
    const recording = await startRecordingGateway({ quota: { ratePerSecond: 1, burst: 2 }, connectRate: 'off' });
    try {
      const pinger = await TestClient.connect(recording.gateway.webSocketUrl);
      for (let i = 0; i < 5; i++) pinger.socket.send(KEEP_ALIVE_MESSAGE);

      expect(JSON.parse(await pinger.next())).toMatchObject({ message: 'Too Many Requests' });
      pinger.close();
    } finally {
      await recording.cleanup();
    }
  });
});

describe('local API Gateway, two workers', () => {
  let recording: Awaited<ReturnType<typeof startRecordingGateway>>;

  beforeAll(async () => {
    // These tests measure the gateway's own speed (5,000 plain clients at once, posts as fast as it goes):
    // AWS's limits are tested in gateway-limits.test.ts.
    recording = await startRecordingGateway({ workers: 2, quota: 'off', connectRate: 'off' });
  });
  afterAll(() => recording.cleanup());

  test('200 clients spread over both workers are all reachable through the one management endpoint', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 200 }, () => TestClient.connect(recording.gateway.webSocketUrl)),
    );
    const ids = await Promise.all(sockets.map((s) => s.whoami()));
    const client = managementClient(recording.gateway);

    await inParallel(ids, 20, (id) => client.send(new PostToConnectionCommand({ ConnectionId: id, Data: `to ${id}` })));
    const received = await Promise.all(sockets.map((s) => s.next()));
    const stats = await recording.gateway.stats();

    expect(received).toEqual(ids.map((id) => `to ${id}`));
    expect(new Set(ids).size).toBe(200);
    expect(stats.connections).toBe(200);
    expect(stats.workers.map((w) => w.connections).every((n) => n > 0)).toBe(true);
    expect(stats.workers.reduce((sum, w) => sum + w.forwarded, 0)).toBeGreaterThan(0);
    for (const s of sockets) s.close();
    await Promise.all(sockets.map((s) => s.untilClosed()));
  });

  test('stop() closes every socket and runs $disconnect for each', async () => {
    const local = await startRecordingGateway({ workers: 2 });
    const sockets = await Promise.all(Array.from({ length: 20 }, () => TestClient.connect(local.gateway.webSocketUrl)));
    const ids = await Promise.all(sockets.map((s) => s.whoami()));

    await local.gateway.stop();

    await Promise.all(sockets.map((s) => s.untilClosed()));
    expect(sockets.every((s) => s.closed?.code === 1001)).toBe(true);
    const disconnected = new Set(
      local
        .events()
        .filter((e) => e.requestContext.routeKey === '$disconnect')
        .map((e) => e.requestContext.connectionId),
    );
    expect(ids.every((id) => disconnected.has(id))).toBe(true);
    await local.cleanup();
  });

  test('5,000 sockets: posts signed by ConnectionPoster and by the SDK each arrive once at every socket (rates logged)', async () => {
    const count = 5_000;
    const sockets: TestClient[] = [];
    await inParallel(Array.from({ length: count }), 200, async () =>
      sockets.push(await TestClient.connect(recording.gateway.webSocketUrl)),
    );
    const ids = await Promise.all(sockets.map((s) => s.whoami()));
    const client = managementClient(recording.gateway);
    const poster = new ConnectionPoster(recording.gateway.connectionsEndpoint, client, 32);
    const payload = preparePayload('broadcast');
    const rates: Record<string, number> = {};

    for (const [name, post] of [
      [
        'poster',
        async (id: string) => {
          const outcome = await poster.post(id, payload);
          if (outcome !== 'delivered') throw new Error(`post to ${id}: ${outcome}`);
        },
      ],
      ['sdk', (id: string) => client.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'broadcast' }))],
    ] as const) {
      const started = performance.now();
      await inParallel(ids, 64, post);
      const received = await Promise.all(sockets.map((s) => s.next()));
      rates[name] = Math.round(count / ((performance.now() - started) / 1000));
      expect(received.filter((message) => message !== 'broadcast')).toEqual([]);
    }
    console.log(`gateway posts/s to ${count} sockets over 2 workers, first (cold) pass, delivered:`, rates);

    await poster.close();
    for (const s of sockets) s.close();
    await Promise.all(sockets.map((s) => s.untilClosed()));
    expect(sockets.filter((s) => s.received.length > 0).length).toBe(0);
  }, 600_000); // no clock of its own: only this guard, generous for a loaded 2-core machine
});

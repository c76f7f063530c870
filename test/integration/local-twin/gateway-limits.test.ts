/**
 * API Gateway's limits in the local gateway, against real sockets on 127.0.0.1 and the real
 * @aws-sdk/client-apigatewaymanagementapi: the account throttle shared by the workers (429
 * LimitExceededException), the new-connection rate (handshake 429, $connect not run), the
 * client swarm retrying refused handshakes, and virtual connections.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import aws4 from 'aws4';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local-account';
import { Pool } from 'undici';
import WebSocket from 'ws';
import { ClientSwarm } from '../../../local/clients/swarm';
import { type Gateway, type GatewayOptions, startGateway } from '../../../local/gateway';

const FIXTURES = join(__dirname, '..', 'fixtures', 'gateway-handlers');
const HANDLERS = {
  connect: join(FIXTURES, 'connect.ts'),
  disconnect: join(FIXTURES, 'disconnect.ts'),
  default: join(FIXTURES, 'default.ts'),
};

let gateway: Gateway | undefined;
let eventsDir: string | undefined;

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
  if (eventsDir) rmSync(eventsDir, { recursive: true, force: true });
  eventsDir = undefined;
});

/** A gateway whose handlers record their events; `connectEvents()` counts the $connect invocations. */
async function start(options: Partial<GatewayOptions>) {
  eventsDir = mkdtempSync(join(tmpdir(), 'gateway-limits-'));
  const eventsFile = join(eventsDir, 'events.jsonl');
  gateway = await startGateway({
    handlerOutput: 'ignore',
    ...options,
    handlers: HANDLERS,
    env: { GATEWAY_EVENTS_FILE: eventsFile },
  });
  const connectEvents = () => {
    try {
      return readFileSync(eventsFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('"eventType":"CONNECT"')).length;
    } catch {
      return 0;
    }
  };
  return { gateway, connectEvents };
}

function managementClient(endpoint: string): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint,
    // The local @connections API checks SigV4 against the local stack's credentials, as AWS checks its own.
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1, // show each 429 instead of the SDK's own retries
  });
}

/** Opens a socket and asks the gateway for its connection id; rejects with ws's error when the handshake is refused. */
async function openSocket(url: string): Promise<{ socket: WebSocket; connectionId: string }> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const connectionId = await new Promise<string>((resolve) => {
    socket.once('message', (data) => resolve(data.toString()));
    socket.send('whoami');
  });
  return { socket, connectionId };
}

const settle = <T>(promises: Promise<T>[]) => Promise.allSettled(promises);

/**
 * Calls `call` until it is accepted (the throttle's bucket refilled), one call every 50 ms, for at
 * most a minute; returns the refusals on the way. Waits for the refill, not for a fixed time.
 */
async function untilAccepted(call: () => Promise<unknown>): Promise<{ refused: unknown[] }> {
  const refused: unknown[] = [];
  for (
    const giveUpAt = Date.now() + 60_000;
    Date.now() < giveUpAt;
    await new Promise((resolve) => setTimeout(resolve, 50))
  ) {
    const error = await call().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    if (error === undefined) return { refused };
    if (!(error instanceof LimitExceededException)) throw error;
    refused.push(error);
  }
  throw new Error(`the throttle refused every call for a minute (${refused.length} calls)`);
}

describe('account throttle on @connections', () => {
  test('past the bucket the real SDK raises LimitExceededException, from the 429 API Gateway sends', async () => {
    const { gateway } = await start({ quota: { ratePerSecond: 1, burst: 10 }, connectRate: 'off' });
    const { socket, connectionId } = await openSocket(gateway.webSocketUrl);
    const client = managementClient(gateway.connectionsEndpoint);

    const results = await settle(
      Array.from({ length: 40 }, () =>
        client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' })),
      ),
    );
    const url = new URL(`${gateway.connectionsEndpoint}/@connections/${encodeURIComponent(connectionId)}`);
    const signed = aws4.sign(
      { host: url.host, path: url.pathname, method: 'POST', service: 'execute-api', region: LOCAL_REGION, body: 'x' },
      LOCAL_CREDENTIALS,
    );
    const raw = await fetch(url, { method: 'POST', body: 'x', headers: signed.headers as Record<string, string> });

    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    const accepted = results.length - refused.length;
    expect(accepted).toBeGreaterThanOrEqual(8); // the handshake and the "whoami" message took two tokens of the burst
    expect(accepted).toBeLessThanOrEqual(12); // the burst, plus what 1/s refills while the calls run
    expect(
      refused.every((error) => error instanceof LimitExceededException && error.$metadata.httpStatusCode === 429),
    ).toBe(true);
    expect(raw.status).toBe(429);
    expect(raw.headers.get('x-amzn-errortype')).toBe('LimitExceededException');
    expect(await raw.json()).toEqual({ message: 'Rate exceeded' });
    const stats = await gateway.stats();
    expect(stats.workers[0].throttled).toBe(refused.length + 1);
    socket.close();
  });

  test('GetConnection draws on the same bucket, and the bucket refills at its rate', async () => {
    const quota = { ratePerSecond: 4, burst: 5 };
    const { gateway } = await start({ quota, connectRate: 'off' });
    const { socket, connectionId } = await openSocket(gateway.webSocketUrl);
    const client = managementClient(gateway.connectionsEndpoint);

    const burstStarted = Date.now();
    const burst = await settle(
      Array.from({ length: 10 }, () => client.send(new GetConnectionCommand({ ConnectionId: connectionId }))),
    );
    const refilledDuringBurst = Math.ceil(((Date.now() - burstStarted) / 1000) * quota.ratePerSecond);
    // The bucket is empty now: wait for the refill (a call accepted again), not for a fixed time.
    await untilAccepted(() => client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' })));

    // The burst, less the tokens of the handshake and the "whoami" message, plus what the rate refilled while the calls ran.
    expect(burst.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(
      quota.burst - 2 + refilledDuringBurst,
    );
    expect(burst.some((r) => r.status === 'rejected' && r.reason instanceof LimitExceededException)).toBe(true);
    socket.close();
  });

  test('two workers share one bucket: calls arriving at both together stay within it', async () => {
    const quota = { ratePerSecond: 1, burst: 50 }; // a slow refill: the burst decides, whatever the machine's load
    const { gateway } = await start({ workers: 2, quota, connectRate: 'off' });
    const sockets = await Promise.all(Array.from({ length: 8 }, () => openSocket(gateway.webSocketUrl)));
    // Many keep-alive connections, so the kernel spreads the calls over both workers.
    const pool = new Pool(new URL(gateway.connectionsEndpoint).origin, { connections: 16, pipelining: 1 });
    const path = new URL(gateway.connectionsEndpoint).pathname;

    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        const callPath = `${path}/@connections/${encodeURIComponent(sockets[i % 8].connectionId)}`;
        const { headers } = aws4.sign(
          {
            host: new URL(gateway.connectionsEndpoint).host,
            path: callPath,
            method: 'POST',
            service: 'execute-api',
            region: LOCAL_REGION,
            body: 'x',
          },
          LOCAL_CREDENTIALS,
        );
        const response = await pool.request({
          method: 'POST',
          path: callPath,
          body: 'x',
          headers: headers as Record<string, string>,
        });
        await response.body.dump();
        return response.statusCode;
      }),
    );
    const elapsedSeconds = (performance.now() - started) / 1000;

    const accepted = statuses.filter((s) => s === 200).length;
    expect(accepted + statuses.filter((s) => s === 429).length).toBe(400);
    expect(accepted).toBeGreaterThanOrEqual(quota.burst - 2 * sockets.length - 2); // each handshake and "whoami" took a token; a stock may stay unspent
    expect(accepted).toBeLessThanOrEqual(quota.burst + quota.ratePerSecond * elapsedSeconds);
    const workers = (await gateway.stats()).workers;
    expect(workers.every((w) => w.calls > 0)).toBe(true); // 16 keep-alive connections: both workers took calls
    expect(workers.reduce((total, w) => total + w.throttled, 0)).toBe(400 - accepted);
    await pool.close();
    for (const { socket } of sockets) socket.close();
  });
});

describe('account throttle on client messages', () => {
  test('a message past the bucket (the one handshakes and @connections calls draw on) is answered "Too Many Requests" and runs no route', async () => {
    const { gateway } = await start({ quota: { ratePerSecond: 1, burst: 10 }, connectRate: 'off' });
    const { socket, connectionId } = await openSocket(gateway.webSocketUrl); // two tokens: the handshake and "whoami"
    const replies: string[] = [];
    socket.on('message', (data) => replies.push(data.toString()));

    const started = performance.now();
    for (let i = 0; i < 20; i++) socket.send('whoami');
    await waitForReplies(replies, 20);
    const elapsedSeconds = (performance.now() - started) / 1000;

    const answered = replies.filter((r) => r === connectionId).length;
    const throttled = replies
      .filter((r) => r.startsWith('{'))
      .map((r) => JSON.parse(r) as { message: string; connectionId: string });
    expect(answered).toBeGreaterThanOrEqual(8); // the burst less the two tokens
    expect(answered).toBeLessThanOrEqual(9 + Math.ceil(elapsedSeconds)); // ... plus what 1/s refilled while the messages ran
    expect(throttled.length).toBe(20 - answered);
    expect(throttled.every((t) => t.message === 'Too Many Requests' && t.connectionId === connectionId)).toBe(true);
    expect((await gateway.stats()).workers[0].messagesThrottled).toBe(throttled.length);
    socket.close();
  });
});

/** Waits until `replies` holds `count` messages (the gateway answers every message, with the route's reply or an error). */
async function waitForReplies(replies: string[], count: number): Promise<void> {
  while (replies.length < count) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('new-connection rate', () => {
  test('past the rate the handshake is refused with 429 before $connect runs', async () => {
    const { gateway, connectEvents } = await start({ workers: 2, connectRate: { ratePerSecond: 5, burst: 5 } });

    const startedAt = performance.now();
    const attempts = await settle(Array.from({ length: 20 }, () => openSocket(gateway.webSocketUrl)));
    const elapsedSeconds = (performance.now() - startedAt) / 1000;

    const opened = attempts.filter((a) => a.status === 'fulfilled');
    const refused = attempts
      .filter((a) => a.status === 'rejected')
      .map((a) => (a as PromiseRejectedResult).reason.message);
    expect(opened.length).toBeGreaterThanOrEqual(5); // the burst
    // ... plus what 5/s refilled while the handshakes ran (a loaded machine takes longer over them)
    expect(opened.length).toBeLessThanOrEqual(5 + Math.ceil(5 * elapsedSeconds));
    expect(opened.length).toBeLessThan(20);
    expect(refused.every((message) => message === 'Unexpected server response: 429')).toBe(true);
    expect(connectEvents()).toBe(opened.length);
    const stats = await gateway.stats();
    expect(stats.connections).toBe(opened.length);
    expect(stats.workers.reduce((sum, w) => sum + w.connectsThrottled, 0)).toBe(refused.length);
    for (const a of opened) (a as PromiseFulfilledResult<{ socket: WebSocket }>).value.socket.close();
  });

  test('the client swarm backs off and retries until every client is connected, once', async () => {
    const { gateway, connectEvents } = await start({ workers: 2, connectRate: { ratePerSecond: 40, burst: 40 } });
    const clients = 150;

    const swarm = await ClientSwarm.connect(gateway.webSocketUrl, clients, { concurrency: 50 });
    try {
      expect(swarm.retries).toBeGreaterThan(0);
      const stats = await gateway.stats();
      expect(stats.connections).toBe(clients);
      expect(stats.workers.reduce((sum, w) => sum + w.connectsAccepted, 0)).toBe(clients);
      expect(connectEvents()).toBe(clients);
      expect((await swarm.report()).open).toBe(clients);
    } finally {
      await swarm.close();
      await swarm.stop();
    }
  });
});

describe('a swarm connecting for longer than the idle timeout', () => {
  const idleTimeoutMs = 2_000;

  test('keeps every socket open: quiet clients ping before the gateway would close them', async () => {
    // 40 clients at 15/s connect for ~2.7 s, longer than the idle timeout; then they sit quiet.
    const { gateway } = await start({ workers: 2, idleTimeoutMs, connectRate: { ratePerSecond: 15, burst: 1 } });
    const clients = 40;

    const swarm = await ClientSwarm.connect(gateway.webSocketUrl, clients, {
      concurrency: 10,
      keepAliveMs: idleTimeoutMs / 4,
    });
    try {
      // A socket that never pings, opened after the swarm: once the gateway closes it for idleness,
      // every swarm client has sat quiet past the idle timeout too. Wait for that, not for a time.
      let control: Awaited<ReturnType<typeof openSocket>> | undefined;
      // Refused while over the connect rate: again, 50 ms later.
      while (!control)
        control = await openSocket(gateway.webSocketUrl).catch(
          () => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50)),
        );
      const [code] = await once(control.socket, 'close');
      expect(code).toBe(1001);
      const report = await swarm.report();
      expect(report.closedByServer).toBe(0);
      expect(report.open).toBe(clients);
      const stats = await gateway.stats();
      expect(stats.connections).toBe(clients);
      // Every message the swarm sent took the keep-alive route ({"action":"ping"}); the one other
      // message is the control socket's "whoami" (openSocket), which runs $default.
      const sum = (key: 'keepAlives' | 'messages') => stats.workers.reduce((total, worker) => total + worker[key], 0);
      expect(sum('keepAlives')).toBeGreaterThanOrEqual(clients);
      expect(sum('messages') - sum('keepAlives')).toBe(1);
    } finally {
      await swarm.close();
      await swarm.stop();
    }
  });

  test('gives up when no client has opened for the stall timeout, naming how far it got', async () => {
    // Every $connect throws (502, which clients retry): no client ever opens.
    const { gateway } = await start({ workers: 1 });

    await expect(
      ClientSwarm.connect(`${gateway.webSocketUrl}?fail=1`, 5, { stallTimeoutMs: 2_000, connectTimeoutMs: 10_000 }),
    ).rejects.toThrow('no client connected for 2 s: 0 of 5 open, 0 closed by the server');
  });
});

describe('virtual connections', () => {
  test('posts to virtual ids are counted per id over the workers, throttled like the rest, and read from the primary', async () => {
    const { gateway } = await start({ workers: 2, virtualConnections: 1_000, quota: 'off' });
    const client = managementClient(gateway.connectionsEndpoint);
    const ids = Array.from({ length: 1_000 }, (_, n) => gateway.virtualConnectionId(n));

    await Promise.all(
      ids.slice(0, 900).map((id) => client.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' }))),
    );
    await Promise.all(
      ids.slice(0, 3).map((id) => client.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'again' }))),
    );
    const described = await client.send(new GetConnectionCommand({ ConnectionId: ids[999] }));
    const counts = await gateway.virtualDeliveries({ reset: true });
    const afterReset = await gateway.virtualDeliveries();

    expect(new Set(ids).size).toBe(1_000);
    expect(counts).toEqual({ connections: 1_000, delivered: 900, duplicates: 3, posts: 903, full: 0, slow: 0 });
    expect(afterReset).toEqual({ connections: 1_000, delivered: 0, duplicates: 0, posts: 0, full: 0, slow: 0 });
    expect(described.ConnectedAt).toBeInstanceOf(Date);
    expect(() => gateway.virtualConnectionId(1_000)).toThrow(RangeError);
    const stats = await gateway.stats();
    expect(stats.workers.every((w) => w.forwarded > 0 || w.posts === 0)).toBe(true);
  });

  test('a virtual id out of range is gone, and the account throttle applies to virtual posts', async () => {
    const { gateway } = await start({
      workers: 2,
      virtualConnections: 100,
      quota: { ratePerSecond: 1, burst: 10 },
      connectRate: 'off',
    });
    const client = managementClient(gateway.connectionsEndpoint);
    const { virtualConnectionId } = await import('../../../local/gateway/connection-id');

    const results = await settle(
      Array.from({ length: 30 }, (_, n) =>
        client.send(new PostToConnectionCommand({ ConnectionId: gateway.virtualConnectionId(n), Data: 'x' })),
      ),
    );
    // Once a token is back (1/s), the out-of-range id is answered for itself: 410.
    let outOfRange: unknown;
    await untilAccepted(() =>
      client
        .send(new PostToConnectionCommand({ ConnectionId: virtualConnectionId(100, 2), Data: 'x' }))
        .catch((error: unknown) => {
          if (error instanceof LimitExceededException) throw error;
          outOfRange = error;
        }),
    );

    const accepted = results.filter((r) => r.status === 'fulfilled').length;
    expect(
      results
        .filter((r) => r.status === 'rejected')
        .every((r) => (r as PromiseRejectedResult).reason instanceof LimitExceededException),
    ).toBe(true);
    expect((await gateway.virtualDeliveries()).delivered).toBe(accepted);
    expect(accepted).toBeLessThanOrEqual(12);
    expect(outOfRange).toBeInstanceOf(GoneException);
  });
});

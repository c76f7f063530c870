/**
 * Whether the gateway gives memory back after slow readers: sockets that stop reading while
 * 100 KiB posts are sent to them until every post answers 429 (the per-socket and per-worker
 * bounds of unsent bytes), then read again. The gateway worker's RSS before, with the bounds
 * full, and after the sockets drained, median over the rounds. One worker, AWS's throttles.
 *
 *   npx tsx bench/slow-readers.ts [readers=500] [rounds=3]
 */
import { join } from 'node:path';
import {
  ApiGatewayManagementApiClient,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import WebSocket from 'ws';
import { sleep } from '#commons/helpers/concurrency';
import { type Gateway, startGateway } from '../local/gateway';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../lib/local-account';
import { median } from './stats';

const readers = Number(process.argv[2] ?? 500);
const rounds = Number(process.argv[3] ?? 3);
const MESSAGE = Buffer.alloc(100 * 1024, 0x61);
/** After the sockets drained, RSS is read at these delays (ms): what the allocator returns takes a moment. */
const AFTER_DRAIN_MS = [0, 10_000, 30_000];
const MiB = 1024 * 1024;

interface Round {
  beforeMiB: number;
  fullMiB: number;
  unsentMiB: number;
  afterMiB: number[];
  /** Collections the worker ran itself once the backlog drained. */
  releases: number;
}

async function workerStats(gateway: Gateway) {
  const [worker] = (await gateway.stats()).workers;
  return worker;
}

async function openReader(url: string): Promise<{ socket: WebSocket; id: string }> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const id = await new Promise<string>((resolve) => {
    socket.once('message', (data) => resolve(data.toString()));
    socket.send('whoami');
  });
  return { socket, id };
}

/** Posts to `id` until the gateway answers 429. */
async function fillUntilRefused(client: ApiGatewayManagementApiClient, id: string): Promise<void> {
  for (;;) {
    try {
      await client.send(new PostToConnectionCommand({ ConnectionId: id, Data: MESSAGE }));
    } catch (error) {
      if (error instanceof LimitExceededException) return;
      throw error;
    }
  }
}

async function runRound(): Promise<Round> {
  const gateway = await startGateway({
    workers: 1,
    handlers: { default: join(__dirname, 'fixtures', 'whoami.ts') },
    handlerOutput: 'ignore',
  });
  try {
    const client = new ApiGatewayManagementApiClient({
      endpoint: gateway.connectionsEndpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    const before = await workerStats(gateway);
    const clients: { socket: WebSocket; id: string }[] = [];
    // Within the 500 new connections per second of AWS's default.
    for (let i = 0; i < readers; i += 100) {
      clients.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(100, readers - i) }, () => openReader(gateway.webSocketUrl)),
        )),
      );
      await sleep(250);
    }
    for (const { socket } of clients) socket.pause();
    for (const { id } of clients) await fillUntilRefused(client, id);
    const full = await workerStats(gateway);
    for (const { socket } of clients) socket.resume();
    while ((await workerStats(gateway)).unsentBytes > 0) await sleep(100);
    const drainedAt = Date.now();
    const afterMiB: number[] = [];
    let releases = 0;
    for (const delay of AFTER_DRAIN_MS) {
      await sleep(Math.max(0, drainedAt + delay - Date.now()));
      const after = await workerStats(gateway);
      afterMiB.push(after.rssBytes / MiB);
      releases = after.memoryReleases;
    }
    for (const { socket } of clients) socket.close();
    client.destroy();
    return {
      beforeMiB: before.rssBytes / MiB,
      fullMiB: full.rssBytes / MiB,
      unsentMiB: full.unsentBytes / MiB,
      afterMiB,
      releases,
    };
  } finally {
    await gateway.stop();
  }
}

async function main(): Promise<void> {
  console.log(`npx tsx bench/slow-readers.ts ${readers} ${rounds}`);
  const results: Round[] = [];
  for (let round = 1; round <= rounds; round++) {
    const result = await runRound();
    results.push(result);
    console.log(
      `round ${round}: rss ${result.beforeMiB.toFixed(0)} MiB before, ${result.fullMiB.toFixed(0)} MiB full (${result.unsentMiB.toFixed(0)} MiB unsent, ${readers} sockets answered 429), ` +
        `after draining ${result.afterMiB.map((mib, i) => `${mib.toFixed(0)} MiB at +${AFTER_DRAIN_MS[i] / 1000} s`).join(', ')} (${result.releases} collections run by the worker)`,
    );
  }
  const med = (pick: (r: Round) => number) => median(results.map(pick)).toFixed(0);
  console.log(
    `median of ${rounds}, ${readers} slow readers: rss ${med((r) => r.beforeMiB)} MiB before, ${med((r) => r.fullMiB)} MiB full, ` +
      AFTER_DRAIN_MS.map((delay, i) => `${med((r) => r.afterMiB[i])} MiB ${delay / 1000} s after draining`).join(', '),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

/**
 * The floor: a plain `ws` server on this machine broadcasting one small message to N real
 * loopback clients, no pipeline in between. It connects the same client swarm the demo uses
 * (local/clients/, same handshakes in flight, same source addresses) and times delivery on the
 * same clock (each client's own arrival time), so bench/demo.ts can print every demo figure as
 * a multiple of it, measured in the same run.
 *
 *   npx tsx bench/floor.ts [clients=1000] [runs=3]
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocketServer } from 'ws';
import { forkTypeScript } from '../local/fork-typescript';
import { ClientSwarm } from '../local/clients/swarm';
import { floorMedians, type FloorResult } from './floor-comparison';

export type { FloorResult } from './floor-comparison';

const HOST = '127.0.0.1';
/**
 * Server sockets per process: one process holds at most ~20,000 open files here, and SO_REUSEPORT
 * spreads connections over the processes by a hash, not evenly, so each stays well under it.
 */
const SOCKETS_PER_SERVER = 10_000;
/** The largest count the demo is run at; more would only load a shared machine. */
export const MAX_FLOOR_CLIENTS = 100_000;
/** A plain broadcast reaches 100,000 loopback sockets in ~2 s here: a minute is a stuck run, not a slow one. */
const DELIVERY_TIMEOUT_MS = 60_000;
/** A server process that has not answered in this long is stuck. */
const SERVER_ANSWER_TIMEOUT_MS = 60_000;

/** Bad input to a benchmark (the floor's, the demo's arguments): says what was wrong and what is allowed. */
export class BenchInputError extends Error {
  override name = 'BenchInputError';
}

/** A floor run in which some client did not get the broadcast exactly once: its figures would mean nothing. */
export class FloorDeliveryError extends Error {
  override name = 'FloorDeliveryError';
}

export interface FloorOptions {
  /** Server sockets per process (default 10,000): more clients than that spread over several processes on one port. */
  socketsPerServer?: number;
}

/** Reads a whole-number argument from `min` to `max`, or says which were allowed. */
export function parseCount(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw new BenchInputError(
      `${name} must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}, got "${text}"`,
    );
  }
  return value;
}

/**
 * V8's full collection, so RSS is taken without garbage: the flag can be set at run time, and a
 * fresh context then has `gc`.
 */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** One process's share of the floor's sockets: a plain `ws` server sharing its port with the others (SO_REUSEPORT). */
export class FloorServer {
  private constructor(
    private readonly server: http.Server,
    private readonly wss: WebSocketServer,
    readonly port: number,
  ) {}

  static async listen(port: number): Promise<FloorServer> {
    const server = http.createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    // A client that dies mid-frame must not end the run: its missing arrival says so.
    wss.on('connection', (socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: HOST, port, reusePort: true, backlog: 4096 }, () => resolve());
    });
    return new FloorServer(server, wss, (server.address() as net.AddressInfo).port);
  }

  get sockets(): number {
    return this.wss.clients.size;
  }

  /** RSS after a full collection. */
  rssBytes(): number {
    collectGarbage();
    return process.memoryUsage.rss();
  }

  /** The floor itself: one text frame to every socket, the message encoded once. */
  broadcast(message: string): void {
    const data = Buffer.from(message);
    for (const socket of this.wss.clients) socket.send(data, { binary: false });
  }

  async close(): Promise<void> {
    for (const socket of this.wss.clients) socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** IPC between measureFloor and bench/floor-server-process.ts. */
export type FloorServerCommand =
  | { type: 'listen'; port: number }
  | { type: 'measure' }
  | { type: 'broadcast'; message: string }
  | { type: 'close' };
export type FloorServerReport =
  | { type: 'listening'; rssBytes: number }
  | { type: 'measured'; sockets: number; rssBytes: number }
  | { type: 'closed' };

/** A FloorServer in a child process, for the sockets past this process's share. */
class FloorServerProcess {
  private constructor(private readonly child: ChildProcess) {}

  static async start(port: number): Promise<{ server: FloorServerProcess; rssBytes: number }> {
    const server = new FloorServerProcess(forkTypeScript(path.join(__dirname, 'floor-server-process.ts'), []));
    const answer = await server.ask({ type: 'listen', port }, 'listening').catch(async (error) => {
      await server.stop();
      throw error;
    });
    return { server, rssBytes: answer.type === 'listening' ? answer.rssBytes : 0 };
  }

  async measure(): Promise<{ sockets: number; rssBytes: number }> {
    const answer = await this.ask({ type: 'measure' }, 'measured');
    return answer.type === 'measured' ? answer : { sockets: 0, rssBytes: 0 };
  }

  /** Not awaited: the clients' arrival times are the answer. */
  broadcast(message: string): void {
    this.child.send({ type: 'broadcast', message } satisfies FloorServerCommand);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.ask({ type: 'close' }, 'closed').catch(() => undefined);
    this.child.kill();
    await exited;
  }

  private ask(command: FloorServerCommand, answer: FloorServerReport['type']): Promise<FloorServerReport> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`floor server process did not answer "${answer}" within ${SERVER_ANSWER_TIMEOUT_MS} ms`)),
        SERVER_ANSWER_TIMEOUT_MS,
      );
      const onMessage = (message: FloorServerReport) => {
        if (message.type === answer) done(undefined, message);
      };
      const onExit = (code: number | null) =>
        done(new Error(`floor server process exited (code ${code}) before answering "${answer}"`));
      const done = (error?: Error, message?: FloorServerReport) => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        if (error) reject(error);
        else resolve(message!);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send(command);
    });
  }
}

/**
 * Connects `clients` real loopback clients to a plain `ws` server (this process, plus a server
 * process per further 10,000 sockets on the same port), broadcasts one small message to every
 * socket and times it from the send to the last client's arrival. Stops everything it started,
 * and throws unless every client got the message exactly once.
 */
export async function measureFloor(
  clients: number,
  { socketsPerServer = SOCKETS_PER_SERVER }: FloorOptions = {},
): Promise<FloorResult> {
  if (!Number.isInteger(clients) || clients < 1 || clients > MAX_FLOOR_CLIENTS) {
    throw new BenchInputError(
      `the floor's clients must be a whole number from 1 to ${MAX_FLOOR_CLIENTS.toLocaleString('en-US')}, got ${clients}`,
    );
  }
  const serverCount = Math.ceil(clients / socketsPerServer);
  const local = await FloorServer.listen(0);
  const remote: FloorServerProcess[] = [];
  let swarm: ClientSwarm | undefined;
  try {
    let rssBefore = local.rssBytes();
    for (let i = 1; i < serverCount; i++) {
      const { server, rssBytes } = await FloorServerProcess.start(local.port);
      remote.push(server);
      rssBefore += rssBytes;
    }

    const connectStart = Date.now();
    swarm = await ClientSwarm.connect(`ws://${HOST}:${local.port}/`, clients);
    const connectMs = Date.now() - connectStart;
    const shares = await Promise.all(remote.map((server) => server.measure()));
    const sockets = local.sockets + shares.reduce((sum, s) => sum + s.sockets, 0);
    const rssAfter = local.rssBytes() + shares.reduce((sum, s) => sum + s.rssBytes, 0);
    if (sockets !== clients)
      throw new FloorDeliveryError(`the floor's servers hold ${sockets} sockets after ${clients} clients connected`);

    const marker = randomUUID();
    await swarm.watch(marker);
    const message = JSON.stringify({ type: 'swarmcast-floor', marker, text: 'Hello from a plain ws server' });
    const sentAt = Date.now();
    for (const server of remote) server.broadcast(message);
    local.broadcast(message);
    const report = await swarm.waitForAll(DELIVERY_TIMEOUT_MS);
    if (report.received !== clients || report.duplicates > 0) {
      throw new FloorDeliveryError(
        `the floor's broadcast reached ${report.received} of ${clients} clients (${report.duplicates} duplicates) within ${DELIVERY_TIMEOUT_MS / 1000} s`,
      );
    }
    return {
      clients,
      serverProcesses: serverCount,
      lastDeliveryMs: Math.max(...report.firstArrivals) - sentAt,
      connectMs,
      connectsPerSecond: Math.round((clients * 1000) / Math.max(1, connectMs)),
      serverBytesPerSocket: Math.round((rssAfter - rssBefore) / clients),
    };
  } finally {
    await local.close();
    await Promise.all(remote.map((server) => server.stop()));
    await swarm?.stop();
  }
}

async function main(): Promise<void> {
  const clients = parseCount('clients', process.argv[2] ?? '1000', 1, MAX_FLOOR_CLIENTS);
  const runs = parseCount('runs', process.argv[3] ?? '3', 1, 20);
  const results: FloorResult[] = [];
  for (let run = 0; run < runs; run++) results.push(await measureFloor(clients));
  const m = floorMedians(results);
  console.log(
    `npx tsx bench/floor.ts ${clients} ${runs}   (a plain ws broadcast, median of ${runs} runs, ${results[0].serverProcesses} server process(es))`,
  );
  console.log(
    `  ${clients.toLocaleString('en-US')} clients: last delivery ${m.lastDeliveryMs.toLocaleString('en-US')} ms, connecting ${m.connectMs.toLocaleString('en-US')} ms (${m.connectsPerSecond.toLocaleString('en-US')}/s), server memory ${(m.serverBytesPerSocket / 1024).toFixed(1)} KB per socket`,
  );
}

if (require.main === module) {
  main().catch((error) => {
    console.error(
      error instanceof BenchInputError
        ? `${error.message}\nusage: npx tsx bench/floor.ts [clients=1000] [runs=3]`
        : `bench/floor.ts failed: ${error instanceof Error ? error.stack : error}`,
    );
    process.exit(1);
  });
}

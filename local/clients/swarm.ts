/**
 * The swarm of real WebSocket clients that the demo, the benchmarks and the integration tests
 * connect to the local stack, in as many client processes (client-process.ts) as their number needs.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { forkTypeScript } from '../fork-typescript';
import { AWS_LIMITS } from '../../functions/commons/aws-limits';
import { KEEP_ALIVE_INTERVAL_MS } from '../../client/protocol';
import type { ClientProcessCommand, ClientProcessReport } from './protocol';

/** Sockets per client process: well under the ~20,000 open files one process may hold. */
const SOCKETS_PER_PROCESS = 8_000;
/** Distinct loopback source addresses keep each address's ephemeral ports far from exhaustion. */
const SOURCE_ADDRESSES = 20;

/**
 * The slowest connect rate the default deadline waits for: a twentieth of AWS's 500/s, since
 * locally every $connect costs three requests on dynalite (~500 requests/s on a loaded 2-core
 * machine, bench/connect-cost.ts), shared with everything else the stack runs; 20,000 clients
 * connected at ~35/s at load average 40.
 */
const SLOWEST_CONNECTS_PER_SECOND = AWS_LIMITS.webSocketNewConnectionsPerSecond.value / 20;
/** Connecting gives up when no client has opened for this long: the stack is stuck, waiting longer will not help. */
const STALL_TIMEOUT_MS = 2 * 60_000;
/** The jitter of the keep-alive as a share of its interval: the client helper's 8.5–9.5 minutes. */
const KEEP_ALIVE_LOW_SHARE = KEEP_ALIVE_INTERVAL_MS.min / KEEP_ALIVE_INTERVAL_MS.max;
/**
 * Handshakes in flight over all client processes. Locally every admitted handshake is a
 * $connect on dynalite (~200 $connect/s alone, 20-70/s on a loaded machine): more in flight
 * only lengthens its queue toward the 29 s integration timeout (200 in flight timed out
 * hundreds of $connect while 100,000 clients started at load average 40), and a timed-out
 * $connect still writes its row. 64 keep dynalite busy (bench/connect-cost.ts).
 */
const HANDSHAKES_IN_FLIGHT = 64;

export interface SwarmConnectOptions {
  /** Handshakes in flight over all client processes (default 64). */
  concurrency?: number;
  /** Clients still refused after this long give up (default 5 min + clients / 25 per s). */
  connectTimeoutMs?: number;
  /** Give up when no client has opened for this long (default 2 min). */
  stallTimeoutMs?: number;
  /**
   * An open client sends {"action":"ping"} at most this long after its last one, at a random
   * time in the last ~11 % of it (default 9.5 min: the client helper's 8.5–9.5 minutes).
   */
  keepAliveMs?: number;
  /** About once a second while connecting: clients open now, and sockets the server has closed so far. */
  onProgress?: (progress: ConnectProgress) => void;
}

export interface ConnectProgress {
  clients: number;
  open: number;
  closedByServer: number;
}

export interface SwarmReport {
  clients: number;
  open: number;
  received: number;
  duplicates: number;
  closedByServer: number;
  /** First arrival time of the watched message, per socket that got it (ms since epoch). */
  firstArrivals: number[];
}

/**
 * Real WebSocket clients on loopback, spread over as many processes and source addresses
 * as their number needs. Every process is a child of this one and ends with it.
 */
export class ClientSwarm {
  /** Handshakes that were refused (or failed) and tried again while connecting. */
  retries = 0;

  private constructor(private readonly processes: ChildProcess[]) {}

  /**
   * Connects every client once, each retrying refused handshakes until the connect deadline;
   * rejects if any could not, or as soon as no client has opened for `stallTimeoutMs`.
   */
  static async connect(
    url: string,
    clients: number,
    {
      concurrency = HANDSHAKES_IN_FLIGHT,
      connectTimeoutMs,
      stallTimeoutMs = STALL_TIMEOUT_MS,
      keepAliveMs = KEEP_ALIVE_INTERVAL_MS.max,
      onProgress,
    }: SwarmConnectOptions = {},
  ): Promise<ClientSwarm> {
    const timeoutMs = connectTimeoutMs ?? 5 * 60_000 + (1000 * clients) / SLOWEST_CONNECTS_PER_SECOND;
    const deadline = Date.now() + timeoutMs;
    const processCount = Math.max(1, Math.ceil(clients / SOCKETS_PER_PROCESS));
    const processes = Array.from({ length: processCount }, () =>
      forkTypeScript(path.join(__dirname, 'client-process.ts'), []),
    );
    const swarm = new ClientSwarm(processes);
    const stall = swarm.watchConnecting(clients, stallTimeoutMs, onProgress);
    try {
      const connecting = swarm.ask(
        (index) => {
          const count = Math.floor(clients / processCount) + (index < clients % processCount ? 1 : 0);
          const inFlight = Math.max(1, Math.ceil(concurrency / processCount));
          return {
            type: 'connect',
            url,
            count,
            localAddress: `127.0.0.${(index % SOURCE_ADDRESSES) + 1}`,
            concurrency: inFlight,
            deadline,
            keepAliveMs: { min: keepAliveMs * KEEP_ALIVE_LOW_SHARE, max: keepAliveMs },
          };
        },
        'connected',
        timeoutMs + 30_000,
      );
      const results = await Promise.race([connecting, stall.stalled]);
      swarm.retries = results.reduce((sum, r) => sum + (r.type === 'connected' ? r.retries : 0), 0);
      const failed = results.reduce((sum, r) => sum + (r.type === 'connected' ? r.failed : 0), 0);
      if (failed > 0) {
        const firstError = results.map((r) => (r.type === 'connected' ? r.firstError : '')).find(Boolean);
        throw new Error(`${failed} of ${clients} clients could not connect (first error: ${firstError})`);
      }
    } catch (error) {
      await swarm.stop();
      throw error;
    } finally {
      stall.stop();
    }
    return swarm;
  }

  /**
   * Sums the processes' progress reports while connecting; `stalled` rejects once the number
   * of open clients has not grown for `stallTimeoutMs`.
   */
  private watchConnecting(clients: number, stallTimeoutMs: number, onProgress?: (progress: ConnectProgress) => void) {
    const latest = new Map<ChildProcess, { open: number; closedByServer: number }>();
    const listeners = this.processes.map((child) => {
      const listener = (message: ClientProcessReport) => {
        if (message.type === 'connecting') latest.set(child, message);
      };
      child.on('message', listener);
      return () => child.off('message', listener);
    });
    let mostOpen = 0;
    let grewAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setInterval(() => {
        const progress: ConnectProgress = { clients, open: 0, closedByServer: 0 };
        for (const report of latest.values()) {
          progress.open += report.open;
          progress.closedByServer += report.closedByServer;
        }
        onProgress?.(progress);
        if (progress.open > mostOpen) {
          mostOpen = progress.open;
          grewAt = Date.now();
        } else if (Date.now() - grewAt >= stallTimeoutMs) {
          reject(
            new Error(
              `no client connected for ${Math.round(stallTimeoutMs / 1000)} s: ${progress.open} of ${clients} open, ${progress.closedByServer} closed by the server`,
            ),
          );
        }
      }, 1_000);
    });
    stalled.catch(() => undefined); // only observed while racing the connect
    return {
      stalled,
      stop() {
        clearInterval(timer);
        for (const off of listeners) off();
      },
    };
  }

  /** Starts recording arrivals of messages that contain `marker`. */
  async watch(marker: string): Promise<void> {
    await this.ask(() => ({ type: 'watch', marker }), 'watching');
  }

  async report(): Promise<SwarmReport> {
    const reports = await this.ask(() => ({ type: 'report' }), 'report');
    const total: SwarmReport = {
      clients: 0,
      open: 0,
      received: 0,
      duplicates: 0,
      closedByServer: 0,
      firstArrivals: [],
    };
    for (const r of reports) {
      if (r.type !== 'report') continue;
      total.open += r.open;
      total.received += r.received;
      total.duplicates += r.duplicates;
      total.closedByServer += r.closedByServer;
      total.firstArrivals.push(...r.firstArrivals);
    }
    total.clients = total.open;
    return total;
  }

  /** Polls until every open client got the watched message once, or the time is up. */
  async waitForAll(timeoutMs: number, onProgress?: (report: SwarmReport) => void): Promise<SwarmReport> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const report = await this.report();
      onProgress?.(report);
      if (report.received >= report.open || Date.now() > deadline) return report;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Closes the sockets; the first `abrupt` of each process vanish without a close frame. */
  async close(abrupt = 0): Promise<void> {
    await this.ask(() => ({ type: 'close', abrupt }), 'closed');
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill();
          }),
      ),
    );
  }

  private ask(
    command: (index: number) => ClientProcessCommand,
    answer: ClientProcessReport['type'],
    timeoutMs = 60_000,
  ): Promise<ClientProcessReport[]> {
    return Promise.all(
      this.processes.map(
        (child, index) =>
          new Promise<ClientProcessReport>((resolve, reject) => {
            const timer = setTimeout(
              () => done(new Error(`client process ${index} did not answer "${answer}" within ${timeoutMs} ms`)),
              timeoutMs,
            );
            const onMessage = (message: ClientProcessReport) => {
              if (message.type === answer) done(undefined, message);
            };
            const onExit = (code: number | null) =>
              done(new Error(`client process ${index} exited (code ${code}) before answering "${answer}"`));
            const done = (error?: Error, message?: ClientProcessReport) => {
              clearTimeout(timer);
              child.off('message', onMessage);
              child.off('exit', onExit);
              if (error) reject(error);
              else resolve(message!);
            };
            child.on('message', onMessage);
            child.once('exit', onExit);
            child.send(command(index));
          }),
      ),
    );
  }
}

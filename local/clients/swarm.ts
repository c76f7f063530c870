import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { AWS_LIMITS } from '../../functions/commons/aws-limits';
import type { ClientProcessCommand, ClientProcessReport } from './protocol';

/** Sockets per client process: well under the ~20,000 open files one process may hold. */
const SOCKETS_PER_PROCESS = 8_000;
/** Distinct loopback source addresses keep each address's ephemeral ports far from exhaustion. */
const SOURCE_ADDRESSES = 20;

/** AWS's new-connection rate: the default connect deadline allows five times the time it needs. */
const ASSUMED_CONNECTS_PER_SECOND = AWS_LIMITS.webSocketNewConnectionsPerSecond.value;
/**
 * Handshakes in flight over all client processes. Locally every admitted handshake is a
 * $connect on dynalite (at most ~500/s, far fewer on a busy machine): more in flight only
 * lengthens its queue toward the 29 s integration timeout, and a timed-out $connect still
 * writes its row.
 */
const HANDSHAKES_IN_FLIGHT = 200;

export interface SwarmConnectOptions {
  /** Handshakes in flight over all client processes (default 200). */
  concurrency?: number;
  /** Clients still refused after this long give up (default 5 min + 5 × clients / 500 per s). */
  connectTimeoutMs?: number;
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

  /** Connects every client once, each retrying refused handshakes until the connect deadline; rejects if any could not. */
  static async connect(url: string, clients: number, { concurrency = HANDSHAKES_IN_FLIGHT, connectTimeoutMs }: SwarmConnectOptions = {}): Promise<ClientSwarm> {
    const timeoutMs = connectTimeoutMs ?? 5 * 60_000 + (5 * 1000 * clients) / ASSUMED_CONNECTS_PER_SECOND;
    const deadline = Date.now() + timeoutMs;
    const processCount = Math.max(1, Math.ceil(clients / SOCKETS_PER_PROCESS));
    const processes = Array.from({ length: processCount }, () =>
      fork(path.join(__dirname, 'client-process.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    const swarm = new ClientSwarm(processes);
    try {
      const results = await swarm.ask((index) => {
        const count = Math.floor(clients / processCount) + (index < clients % processCount ? 1 : 0);
        const inFlight = Math.max(1, Math.ceil(concurrency / processCount));
        return { type: 'connect', url, count, localAddress: `127.0.0.${(index % SOURCE_ADDRESSES) + 1}`, concurrency: inFlight, deadline };
      }, 'connected', timeoutMs + 30_000);
      swarm.retries = results.reduce((sum, r) => sum + (r.type === 'connected' ? r.retries : 0), 0);
      const failed = results.reduce((sum, r) => sum + (r.type === 'connected' ? r.failed : 0), 0);
      if (failed > 0) {
        const firstError = results.map((r) => (r.type === 'connected' ? r.firstError : '')).find(Boolean);
        throw new Error(`${failed} of ${clients} clients could not connect (first error: ${firstError})`);
      }
    } catch (error) {
      await swarm.stop();
      throw error;
    }
    return swarm;
  }

  /** Starts recording arrivals of messages that contain `marker`. */
  async watch(marker: string): Promise<void> {
    await this.ask(() => ({ type: 'watch', marker }), 'watching');
  }

  async report(): Promise<SwarmReport> {
    const reports = await this.ask(() => ({ type: 'report' }), 'report');
    const total: SwarmReport = { clients: 0, open: 0, received: 0, duplicates: 0, closedByServer: 0, firstArrivals: [] };
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

  private ask(command: (index: number) => ClientProcessCommand, answer: ClientProcessReport['type'], timeoutMs = 60_000): Promise<ClientProcessReport[]> {
    return Promise.all(
      this.processes.map(
        (child, index) =>
          new Promise<ClientProcessReport>((resolve, reject) => {
            const timer = setTimeout(() => done(new Error(`client process ${index} did not answer "${answer}" within ${timeoutMs} ms`)), timeoutMs);
            const onMessage = (message: ClientProcessReport) => {
              if (message.type === answer) done(undefined, message);
            };
            const onExit = (code: number | null) => done(new Error(`client process ${index} exited (code ${code}) before answering "${answer}"`));
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

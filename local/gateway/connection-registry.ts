import WebSocket from 'ws';
import type { ConnectionFacts } from './lambda-events';
import { type ManagementResult, RESULTS } from './management-results';

/** A socket this worker owns, with what GetConnection reports about it. */
export interface LocalConnection {
  facts: ConnectionFacts;
  socket: WebSocket;
  lastActiveAt: number;
}

export interface RegistryLimits {
  idleTimeoutMs: number;
  maxConnectionMs: number;
  maxBufferedBytes: number;
}

/** The close API Gateway sends on idle timeout, maximum duration and shutdown. */
export const GOING_AWAY = { code: 1001, reason: 'Going away' } as const;

export interface RegistryCounters {
  posts: number;
  gone: number;
  limitExceeded: number;
  deleted: number;
  timedOut: number;
}

/**
 * The open sockets of this worker and the @connections operations on them. Operations are
 * synchronous: a post is one buffered socket write, so the HTTP answer needs no await.
 * A connection leaves the registry the moment its close starts, so a closing socket is
 * already "gone" for the API, as on AWS.
 */
export class ConnectionRegistry {
  private readonly connections = new Map<string, LocalConnection>();
  readonly counters: RegistryCounters = { posts: 0, gone: 0, limitExceeded: 0, deleted: 0, timedOut: 0 };
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly limits: RegistryLimits) {
    // One periodic scan instead of a timer per socket: a post must not pay for re-arming a timer.
    const sweepEveryMs = Math.max(20, Math.min(1_000, Math.min(limits.idleTimeoutMs, limits.maxConnectionMs) / 5));
    this.sweeper = setInterval(() => this.closeExpired(Date.now()), sweepEveryMs);
    this.sweeper.unref();
  }

  get size(): number {
    return this.connections.size;
  }

  add(connection: LocalConnection): void {
    this.connections.set(connection.facts.connectionId, connection);
  }

  /** Forget a socket that closed by itself (client close, network error). */
  forget(connectionId: string): void {
    this.connections.delete(connectionId);
  }

  touch(connection: LocalConnection): void {
    connection.lastActiveAt = Date.now();
  }

  post(connectionId: string, data: Buffer): ManagementResult {
    const connection = this.connections.get(connectionId);
    if (!connection || connection.socket.readyState !== WebSocket.OPEN) {
      this.counters.gone++;
      return RESULTS.gone;
    }
    if (connection.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      this.counters.limitExceeded++;
      return RESULTS.limitExceeded;
    }
    connection.socket.send(data, { binary: false });
    connection.lastActiveAt = Date.now();
    this.counters.posts++;
    return RESULTS.posted;
  }

  describe(connectionId: string): ManagementResult {
    const connection = this.connections.get(connectionId);
    if (!connection) {
      this.counters.gone++;
      return RESULTS.gone;
    }
    const { facts } = connection;
    return {
      status: 200,
      body: JSON.stringify({
        connectedAt: new Date(facts.connectedAt).toISOString(),
        identity: { sourceIp: facts.sourceIp, userAgent: facts.userAgent },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      }),
    };
  }

  delete(connectionId: string): ManagementResult {
    const connection = this.connections.get(connectionId);
    if (!connection) {
      this.counters.gone++;
      return RESULTS.gone;
    }
    this.counters.deleted++;
    this.close(connection, 1000, '');
    return RESULTS.deleted;
  }

  /** Starts the closing handshake; the socket's 'close' event runs $disconnect. */
  close(connection: LocalConnection, code: number, reason: string): void {
    this.connections.delete(connection.facts.connectionId);
    connection.socket.close(code, reason);
  }

  /** Closes every socket; resolves when all closed or after graceMs (the rest are cut). */
  async closeAll(graceMs: number): Promise<void> {
    const sockets = [...this.connections.values()].map((c) => c.socket);
    for (const connection of [...this.connections.values()]) this.close(connection, GOING_AWAY.code, GOING_AWAY.reason);
    const closed = sockets.map(
      (socket) => new Promise<void>((resolve) => (socket.readyState === WebSocket.CLOSED ? resolve() : socket.once('close', () => resolve()))),
    );
    const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.all(closed), grace]);
    for (const socket of sockets) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
  }

  stopSweeping(): void {
    clearInterval(this.sweeper);
  }

  private closeExpired(now: number): void {
    const { idleTimeoutMs, maxConnectionMs } = this.limits;
    for (const connection of this.connections.values()) {
      if (now - connection.lastActiveAt >= idleTimeoutMs || now - connection.facts.connectedAt >= maxConnectionMs) {
        this.counters.timedOut++;
        this.close(connection, GOING_AWAY.code, GOING_AWAY.reason);
      }
    }
  }
}

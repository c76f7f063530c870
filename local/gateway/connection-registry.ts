/**
 * The sockets one gateway worker owns and what the @connections API does to them, with API
 * Gateway's timeouts and bounds on the bytes sockets may hold unsent.
 */
import { isUtf8 } from 'node:buffer';
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
  /** Bytes one socket may hold unsent; a post that would pass it answers 429. */
  maxBufferedBytes: number;
  /** Bytes all of this worker's sockets together may hold unsent; a post that would pass it answers 429. */
  maxBufferedBytesTotal: number;
}

/**
 * Once a backlog of at least this many unsent bytes (or half the worker's bound, if smaller) has
 * drained, the worker collects its garbage at once: the sent messages are garbage by then, but an
 * idle worker would hold them until some later allocation triggers a collection (measured: 49 MiB
 * still held 30 s after 50 slow readers drained, bench/slow-readers.ts).
 */
export const RELEASE_AFTER_BACKLOG_BYTES = 16 * 1024 * 1024;

/** How stale the worker-wide sum of unsent bytes may get before a post recounts it. */
const BUFFERED_RECOUNT_MS = 20;

/** The close API Gateway sends on idle timeout, maximum duration and shutdown. */
export const GOING_AWAY = { code: 1001, reason: 'Going away' } as const;

export interface RegistryCounters {
  posts: number;
  gone: number;
  limitExceeded: number;
  /** Of limitExceeded, the posts refused because all sockets together held maxBufferedBytesTotal. */
  limitExceededTotal: number;
  /** Posts of data that is not UTF-8, sent as a binary frame. */
  postsBinary: number;
  deleted: number;
  timedOut: number;
  /** Collections run because a backlog of RELEASE_AFTER_BACKLOG_BYTES or more had drained. */
  memoryReleases: number;
}

/**
 * The open sockets of this worker and the @connections operations on them. Operations are
 * synchronous: a post is one buffered socket write, so the HTTP answer needs no await.
 * A connection leaves the registry the moment its close starts, so a closing socket is
 * already "gone" for the API, as on AWS.
 */
export class ConnectionRegistry {
  private readonly connections = new Map<string, LocalConnection>();
  readonly counters: RegistryCounters = {
    posts: 0,
    gone: 0,
    limitExceeded: 0,
    limitExceededTotal: 0,
    postsBinary: 0,
    deleted: 0,
    timedOut: 0,
    memoryReleases: 0,
  };
  private readonly sweeper: NodeJS.Timeout;
  /** Sockets that had unsent bytes after a post: the only ones the worker-wide sum needs to read. */
  private readonly backlogged = new Set<LocalConnection>();
  /** Unsent bytes of every socket at the last recount, plus what posts queued since. */
  private bufferedBytes = 0;
  private recountedAt = 0;
  /** The largest worker-wide backlog since the last release. */
  private backlogPeakBytes = 0;
  /** Whether the last sweep after a large backlog found nothing unsent. */
  private drainedAtLastSweep = false;

  constructor(
    private readonly limits: RegistryLimits,
    /** Collects the worker's garbage (global.gc under --expose-gc); absent, memory is left to the next collection. */
    private readonly collectGarbage?: () => void,
  ) {
    // One periodic scan instead of a timer per socket: a post must not pay for re-arming a timer.
    const sweepEveryMs = Math.max(20, Math.min(1_000, Math.min(limits.idleTimeoutMs, limits.maxConnectionMs) / 5));
    this.sweeper = setInterval(() => {
      const now = Date.now();
      this.closeExpired(now);
      this.releaseDrainedBacklog(now);
    }, sweepEveryMs);
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
    const connection = this.connections.get(connectionId);
    if (connection) this.backlogged.delete(connection);
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
    const { socket } = connection;
    // A slow reader's bytes wait in this process: bounded per socket and for the whole worker,
    // past either bound the post answers 429 as API Gateway does when a client's buffer is full.
    if (socket.bufferedAmount + data.length > this.limits.maxBufferedBytes) {
      this.counters.limitExceeded++;
      return RESULTS.limitExceeded;
    }
    const now = Date.now();
    if (this.unsentBytes(now) + data.length > this.limits.maxBufferedBytesTotal) {
      this.counters.limitExceeded++;
      this.counters.limitExceededTotal++;
      return RESULTS.limitExceeded;
    }
    // Text frames must be UTF-8 (RFC 6455 §8.1: a client fails the connection otherwise): other data goes as a binary frame.
    const binary = !isUtf8(data);
    if (binary) this.counters.postsBinary++;
    socket.send(data, { binary });
    if (socket.bufferedAmount > 0) {
      this.backlogged.add(connection);
      this.bufferedBytes += data.length;
      this.backlogPeakBytes = Math.max(this.backlogPeakBytes, this.bufferedBytes);
    }
    connection.lastActiveAt = now;
    this.counters.posts++;
    return RESULTS.posted;
  }

  /** Unsent bytes over this worker's sockets, recounted from the backlogged sockets at most every BUFFERED_RECOUNT_MS. */
  unsentBytes(now = Date.now()): number {
    if (now - this.recountedAt < BUFFERED_RECOUNT_MS) return this.bufferedBytes;
    let total = 0;
    for (const connection of this.backlogged) {
      const buffered = connection.socket.readyState === WebSocket.OPEN ? connection.socket.bufferedAmount : 0;
      if (buffered === 0) this.backlogged.delete(connection);
      total += buffered;
    }
    this.bufferedBytes = total;
    this.recountedAt = now;
    return total;
  }

  /**
   * After a large backlog drained (or its sockets closed), its sent messages are collected at once,
   * not whenever: at the second sweep that finds nothing unsent, since closed sockets' writes let
   * go of their buffers a moment after the sockets left the registry (collected at the first
   * sweep, up to 2.7 MB of 5.4 MB stayed on a busy machine).
   */
  private releaseDrainedBacklog(now: number): void {
    if (
      !this.collectGarbage ||
      this.backlogPeakBytes < Math.min(RELEASE_AFTER_BACKLOG_BYTES, this.limits.maxBufferedBytesTotal / 2)
    )
      return;
    const drained = this.unsentBytes(now) === 0;
    const quietSweep = drained && this.drainedAtLastSweep;
    this.drainedAtLastSweep = drained;
    if (!quietSweep) return;
    this.drainedAtLastSweep = false;
    this.backlogPeakBytes = 0;
    this.counters.memoryReleases++;
    this.collectGarbage();
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
    this.backlogged.delete(connection);
    connection.socket.close(code, reason);
  }

  /** Closes every socket; resolves when all closed or after graceMs (the rest are cut). */
  async closeAll(graceMs: number): Promise<void> {
    const sockets = [...this.connections.values()].map((c) => c.socket);
    for (const connection of [...this.connections.values()]) this.close(connection, GOING_AWAY.code, GOING_AWAY.reason);
    const closed = sockets.map(
      (socket) =>
        new Promise<void>((resolve) =>
          socket.readyState === WebSocket.CLOSED ? resolve() : socket.once('close', () => resolve()),
        ),
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

/**
 * Virtual connections: connection ids without a socket, for benchmarks at a scale no machine
 * holds in sockets (a million). With `virtualConnections: N`, ids number 0..N-1
 * (virtualConnectionId in connection-id.ts) exist from the start; worker n mod workers owns
 * id n. Calls reach them like any other: throttled by the account bucket, forwarded to the
 * owner. A post counts one delivery of that id in a byte counter (saturating at 255) instead
 * of writing to a socket; GetConnection answers 200, DeleteConnection 204 (the id stays:
 * virtual connections never close). With `slow`, a share of the ids (chosen by a hash of n) are
 * slow readers: from an id's first post, its buffer is full for `fullMs` and posts answer 429
 * LimitExceededException, counted in `full`; then it drains and takes them. Real sockets are
 * untouched by all this.
 */
import { virtualNumberOf } from './connection-id';
import type { ManagementOp } from './peer-forwarding';
import { type ManagementResult, RESULTS } from './management-results';
import type { SlowVirtualConnections } from './options';

/** One worker's (or, summed, the gateway's) deliveries to its virtual connections. */
export interface VirtualDeliveries {
  /** Virtual connection ids owned. */
  connections: number;
  /** Ids posted to at least once. */
  delivered: number;
  /** Posts beyond the first, over all ids. */
  duplicates: number;
  /** Posts accepted, over all ids. */
  posts: number;
  /** Posts a slow id answered 429 while full. */
  full: number;
  /** Ids that are slow readers. */
  slow: number;
}

/** Whether virtual id n is a slow reader: a multiplicative hash of n against the share, the same in every worker. */
export const isSlowVirtual = (n: number, share: number): boolean => (Math.imul(n, 2654435761) >>> 0) / 2 ** 32 < share;

export class VirtualConnections {
  private readonly counts: Uint8Array;
  private readonly connectedAt = new Date().toISOString();
  private posts = 0;
  private full = 0;
  /** A slow id's first post (ms), by slot. */
  private readonly fullSince = new Map<number, number>();

  constructor(
    private readonly workerIndex: number,
    private readonly workerCount: number,
    total: number,
    private readonly slow?: SlowVirtualConnections,
  ) {
    this.counts = new Uint8Array(Math.max(0, Math.ceil((total - workerIndex) / workerCount)));
  }

  /** The call's answer when the id is a virtual connection of this worker, else undefined. */
  execute(op: ManagementOp, connectionId: string): ManagementResult | undefined {
    const n = virtualNumberOf(connectionId);
    if (n === undefined || n % this.workerCount !== this.workerIndex) return undefined;
    const slot = (n - this.workerIndex) / this.workerCount;
    if (slot >= this.counts.length) return undefined;
    switch (op) {
      case 'post':
        if (this.slow && isSlowVirtual(n, this.slow.share)) {
          const since = this.fullSince.get(slot) ?? Date.now();
          this.fullSince.set(slot, since);
          if (Date.now() - since < this.slow.fullMs) {
            this.full++;
            return RESULTS.limitExceeded;
          }
        }
        if (this.counts[slot] < 255) this.counts[slot]++;
        this.posts++;
        return RESULTS.posted;
      case 'describe':
        return {
          status: 200,
          body: JSON.stringify({
            connectedAt: this.connectedAt,
            identity: { sourceIp: '127.0.0.1', userAgent: 'virtual' },
            lastActiveAt: this.connectedAt,
          }),
        };
      case 'delete':
        return RESULTS.deleted;
    }
  }

  /** The counts so far; `reset` zeroes them afterwards (between runs over the same ids). */
  deliveries(reset = false): VirtualDeliveries {
    let delivered = 0;
    let duplicates = 0;
    let slow = 0;
    this.counts.forEach((count, slot) => {
      if (count > 0) delivered++;
      if (count > 1) duplicates += count - 1;
      if (this.slow && isSlowVirtual(slot * this.workerCount + this.workerIndex, this.slow.share)) slow++;
    });
    const result = { connections: this.counts.length, delivered, duplicates, posts: this.posts, full: this.full, slow };
    if (reset) {
      this.counts.fill(0);
      this.posts = 0;
      this.full = 0;
      this.fullSince.clear();
    }
    return result;
  }
}

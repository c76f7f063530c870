/**
 * Virtual connections: connection ids without a socket, for benchmarks at a scale no machine
 * holds in sockets (a million). With `virtualConnections: N`, ids number 0..N-1
 * (virtualConnectionId in connection-id.ts) exist from the start; worker n mod workers owns
 * id n. Calls reach them like any other: throttled by the account bucket, forwarded to the
 * owner. A post counts one delivery of that id in a byte counter (saturating at 255) instead
 * of writing to a socket; GetConnection answers 200, DeleteConnection 204 (the id stays:
 * virtual connections never close). Real sockets are untouched by all this.
 */
import { virtualNumberOf } from './connection-id';
import type { ManagementOp } from './peer-forwarding';
import { type ManagementResult, RESULTS } from './management-results';

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
}

export class VirtualConnections {
  private readonly counts: Uint8Array;
  private readonly connectedAt = new Date().toISOString();
  private posts = 0;

  constructor(
    private readonly workerIndex: number,
    private readonly workerCount: number,
    total: number,
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
    for (const count of this.counts) {
      if (count > 0) delivered++;
      if (count > 1) duplicates += count - 1;
    }
    const result = { connections: this.counts.length, delivered, duplicates, posts: this.posts };
    if (reset) {
      this.counts.fill(0);
      this.posts = 0;
    }
    return result;
  }
}

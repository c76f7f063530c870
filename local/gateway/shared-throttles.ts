/**
 * One worker's view of the gateway's shared throttles (token-bucket.ts): worker 0 owns the
 * buckets, every worker spends from its own lease. The account bucket covers every
 * @connections call, every handshake and every client message, as API Gateway's account
 * throttle covers all the account's API requests; handshakes also need a token of the
 * new-connection bucket.
 */
import type { WorkerConfig } from './options';
import type { Throttle } from './throttles';
import { BucketOwner, leaseSize, TokenLease } from './token-bucket';

/** Buckets by their number on the peer link. */
const ACCOUNT = 0;
const CONNECT = 1;
export const BUCKET_OWNER_WORKER = 0;

/** Asks the owning worker for `want` tokens of bucket `bucket`, reporting the stock still held. */
export type LeaseFromOwner = (bucket: number, stock: number, want: number) => Promise<number>;

/** A throttle's verdict: now, or after one round trip to the bucket's owner. */
export type Admission = boolean | Promise<boolean>;

export class SharedThrottles {
  private readonly owners: (BucketOwner | undefined)[] = [];
  private readonly leases: (TokenLease | undefined)[] = [];
  /** Once worker 0 is gone: a bucket of this worker's own, holding its share of each limit. */
  private readonly fallbacks: (BucketOwner | undefined)[] = [];

  constructor(
    private readonly config: Pick<WorkerConfig, 'workerIndex' | 'workerCount' | 'quota' | 'connectRate'>,
    leaseFromOwner: LeaseFromOwner,
  ) {
    [config.quota, config.connectRate].forEach((throttle: Throttle, bucket) => {
      if (throttle === 'off') return;
      const tokens = leaseSize(throttle, config.workerCount);
      if (config.workerIndex === BUCKET_OWNER_WORKER) {
        const owner = new BucketOwner(throttle, config.workerCount);
        this.owners[bucket] = owner;
        this.leases[bucket] = new TokenLease((stock, want) => owner.lease(BUCKET_OWNER_WORKER, stock, want), tokens);
      } else {
        const lease = (stock: number, want: number): Promise<number> | number => {
          const fallback = this.fallbacks[bucket];
          if (fallback) return fallback.lease(0, stock, want);
          return leaseFromOwner(bucket, stock, want).catch((error: unknown) =>
            this.onOwnerLost(bucket, throttle, error, stock, want),
          );
        };
        this.leases[bucket] = new TokenLease(lease, tokens);
      }
    });
  }

  /** Takes a lease of every bucket ahead of the first call (once the link to the owner is up). */
  prefetch(): void {
    for (const lease of this.leases) lease?.prefetch();
  }

  /** One token of the account throttle for a @connections call or a client's message. */
  admitCall(): Admission {
    return this.leases[ACCOUNT]?.take() ?? true;
  }

  /** One token of the new-connection rate and one of the account throttle for a handshake. */
  async admitHandshake(): Promise<boolean> {
    return (await (this.leases[CONNECT]?.take() ?? true)) && (await (this.leases[ACCOUNT]?.take() ?? true));
  }

  /** Answers another worker's lease request (on the owning worker). */
  grantLease(bucket: number, worker: number, stock: number, want: number): number {
    const owner = this.owners[bucket];
    if (!owner) throw new Error(`worker ${this.config.workerIndex} owns no bucket ${bucket}`);
    return owner.lease(worker, stock, want);
  }

  /**
   * Worker 0 died: this worker goes on with a bucket of its own holding its 1/workerCount share
   * of the limit, so the workers left never exceed the account's rate together (they may use
   * less of it), and a dead worker no longer throttles every call of the others for good.
   */
  private onOwnerLost(bucket: number, throttle: Throttle, error: unknown, stock: number, want: number): number {
    if (throttle === 'off') return want;
    if (!this.fallbacks[bucket]) {
      const { workerCount, workerIndex } = this.config;
      const share = {
        ratePerSecond: throttle.ratePerSecond / workerCount,
        burst: Math.max(1, Math.floor(throttle.burst / workerCount)),
      };
      this.fallbacks[bucket] = new BucketOwner(share, 1);
      console.error(
        `[gateway] worker ${workerIndex}: no lease from worker ${BUCKET_OWNER_WORKER} (${error}); throttling on its own share (${share.ratePerSecond}/s, burst ${share.burst})`,
      );
    }
    return this.fallbacks[bucket]!.lease(0, stock, want);
  }
}

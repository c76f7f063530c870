/**
 * One worker's view of the gateway's shared throttles (token-bucket.ts): worker 0 owns the
 * buckets, every worker spends from its own lease. The account bucket covers every
 * @connections call and every handshake, as API Gateway's account throttle covers all the
 * account's API requests; handshakes also need a token of the new-connection bucket.
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
  private ownerLost = false;

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
        this.leases[bucket] = new TokenLease((stock, want) => leaseFromOwner(bucket, stock, want).catch((error: unknown) => this.onOwnerLost(error)), tokens);
      }
    });
  }

  /** Takes a lease of every bucket ahead of the first call (once the link to the owner is up). */
  prefetch(): void {
    for (const lease of this.leases) lease?.prefetch();
  }

  /** One token of the account throttle for a @connections call. */
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

  private onOwnerLost(error: unknown): number {
    if (!this.ownerLost) {
      this.ownerLost = true;
      console.error(`[gateway] worker ${this.config.workerIndex}: no lease from worker ${BUCKET_OWNER_WORKER} (${error}); its calls are throttled from now on`);
    }
    return 0;
  }
}

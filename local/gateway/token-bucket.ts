/**
 * The token buckets behind the gateway's throttles (API Gateway's account throttle and its
 * new-connection rate), shared by every worker process of one gateway.
 *
 * One worker (index 0) owns each bucket in a BucketOwner. Every worker, the owner included,
 * spends tokens from a TokenLease: a small local stock it tops up from the owner before it
 * runs dry (other workers over the peer link, so the hot path stays synchronous). The owner
 * counts the stock each worker reported as still held against the bucket's size, so tokens
 * in the bucket plus tokens held by workers never exceed the burst: together the workers
 * admit at most burst + rate × t calls in any interval of t seconds, exactly as one bucket.
 * A stock is a few milliseconds of the rate, so it barely delays the others.
 */

export interface RateLimit {
  ratePerSecond: number;
  burst: number;
}

/** A classic token bucket: `burst` tokens, refilled continuously at `ratePerSecond`. */
export class TokenBucket {
  private level: number;
  private updatedAt: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.level = limit.burst;
    this.updatedAt = now();
  }

  /** Takes up to `want` whole tokens, the level held under burst − `heldElsewhere`; returns how many it took. */
  take(want: number, heldElsewhere = 0): number {
    const now = this.now();
    const ceiling = this.limit.burst - heldElsewhere;
    this.level = Math.min(ceiling, this.level + ((now - this.updatedAt) * this.limit.ratePerSecond) / 1000);
    this.updatedAt = now;
    const taken = Math.max(0, Math.min(want, Math.floor(this.level)));
    this.level -= taken;
    return taken;
  }

  /** Milliseconds until one whole token is in the bucket (0 when there is one now). */
  msUntilToken(): number {
    const missing = 1 - this.level - ((this.now() - this.updatedAt) * this.limit.ratePerSecond) / 1000;
    return missing <= 0 ? 0 : (missing * 1000) / this.limit.ratePerSecond;
  }
}

/**
 * How many tokens a worker takes at once: ~20 ms of the rate (few lease round trips), at most
 * a quarter of the burst split over the workers (held stocks must not starve the bucket).
 */
export function leaseSize(limit: RateLimit, workers: number): number {
  return Math.max(1, Math.min(Math.ceil(limit.ratePerSecond / 50), Math.floor(limit.burst / (4 * workers))));
}

interface Waiter {
  worker: number;
  resolve: (granted: number) => void;
}

/** The bucket itself, in the owning worker: grants leases, in arrival order, as tokens come in. */
export class BucketOwner {
  private readonly bucket: TokenBucket;
  /** Per worker: tokens it may still hold (its reported stock plus what it was granted since). */
  private readonly held: number[];
  private heldTotal = 0;
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Tokens granted so far, over all workers. */
  granted = 0;

  constructor(
    limit: RateLimit,
    workers: number,
    readonly leaseTokens: number,
    now?: () => number,
  ) {
    this.bucket = new TokenBucket(limit, now);
    this.held = new Array<number>(workers).fill(0);
  }

  /**
   * A lease for `worker`, which still holds `stock` tokens. Answers synchronously when tokens
   * are there and nobody waits before it; otherwise later, when the bucket has refilled.
   */
  lease(worker: number, stock: number): number | Promise<number> {
    this.setHeld(worker, stock);
    if (this.waiters.length === 0) {
      const granted = this.grant(worker);
      if (granted > 0) return granted;
    }
    return new Promise((resolve) => {
      this.waiters.push({ worker, resolve });
      this.schedule();
    });
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private grant(worker: number): number {
    const granted = this.bucket.take(this.leaseTokens, this.heldTotal);
    this.setHeld(worker, this.held[worker] + granted);
    this.granted += granted;
    return granted;
  }

  private setHeld(worker: number, tokens: number): void {
    this.heldTotal += tokens - this.held[worker];
    this.held[worker] = tokens;
  }

  private schedule(): void {
    if (this.timer || this.waiters.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      while (this.waiters.length > 0) {
        const granted = this.grant(this.waiters[0].worker);
        if (granted === 0) break;
        this.waiters.shift()!.resolve(granted);
      }
      this.schedule();
    }, Math.max(1, Math.ceil(this.bucket.msUntilToken())));
  }
}

/** Asks the owner for a lease, reporting the stock still held; resolves with the tokens granted. */
export type RequestLease = (stock: number) => number | Promise<number>;

/** A worker's side of a shared bucket: spend tokens synchronously, top up before running dry. */
export class TokenLease {
  private stock = 0;
  private requesting = false;
  private readonly lowWater: number;
  /** Calls refused for want of a token. */
  refused = 0;

  constructor(
    private readonly requestLease: RequestLease,
    leaseTokens: number,
  ) {
    this.lowWater = Math.floor(leaseTokens / 2);
  }

  /** Takes one token if this worker holds one; asks for more when the stock is low. */
  tryTake(): boolean {
    if (this.stock <= this.lowWater) this.topUp();
    if (this.stock === 0) {
      this.refused++;
      return false;
    }
    this.stock--;
    return true;
  }

  /** Starts with a lease in hand, so the first calls after start are not refused. */
  prefetch(): void {
    this.topUp();
  }

  private topUp(): void {
    if (this.requesting) return;
    const answer = this.requestLease(this.stock);
    if (typeof answer === 'number') {
      this.stock += answer;
      return;
    }
    this.requesting = true;
    answer.then(
      (granted) => {
        this.stock += granted;
        this.requesting = false;
      },
      () => {
        this.requesting = false;
      },
    );
  }
}

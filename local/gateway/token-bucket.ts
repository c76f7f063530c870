/**
 * The token buckets behind the gateway's throttles (API Gateway's account throttle and its
 * new-connection rate), shared by every worker process of one gateway.
 *
 * One worker (index 0) owns each bucket in a BucketOwner. Every worker, the owner included,
 * spends tokens from a TokenLease: a local stock of ~20 ms of the rate that it tops up from
 * the owner (other workers over the peer link) before it runs dry, so a call normally decides
 * without waiting. The owner counts the stock each worker reported as still held against the
 * bucket's size, so tokens in the bucket plus tokens held by workers never exceed the burst:
 * together the workers admit at most burst + rate × t calls in any t seconds, as one bucket.
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
}

/**
 * How many tokens a worker takes at once: ~20 ms of the rate (few lease round trips), at most
 * a quarter of the burst split over the workers (held stocks must not starve the bucket).
 */
export function leaseSize(limit: RateLimit, workers: number): number {
  return Math.max(1, Math.min(Math.ceil(limit.ratePerSecond / 50), Math.floor(limit.burst / (4 * workers))));
}

/** The bucket itself, in the owning worker: grants what it holds, at once, to whoever asks. */
export class BucketOwner {
  private readonly bucket: TokenBucket;
  /** Per worker: tokens it may still hold (its reported stock plus what it was granted since). */
  private readonly held: number[];
  private heldTotal = 0;

  constructor(limit: RateLimit, workers: number, now?: () => number) {
    this.bucket = new TokenBucket(limit, now);
    this.held = new Array<number>(workers).fill(0);
  }

  /** Up to `want` tokens for `worker`, which still holds `stock`; 0 when the bucket is empty. */
  lease(worker: number, stock: number, want: number): number {
    // Refill up to now under the stocks held until now: a lower report frees room from now on only.
    this.bucket.take(0, this.heldTotal);
    this.setHeld(worker, stock);
    const granted = this.bucket.take(want, this.heldTotal);
    this.setHeld(worker, stock + granted);
    return granted;
  }

  private setHeld(worker: number, tokens: number): void {
    this.heldTotal += tokens - this.held[worker];
    this.held[worker] = tokens;
  }
}

/** Asks the owner for `want` tokens, reporting the stock still held; answers with the tokens granted. */
export type RequestLease = (stock: number, want: number) => number | Promise<number>;

/**
 * A worker's side of a shared bucket. A call takes a token from the local stock at once; the
 * stock is topped up before it runs dry. A call that finds it dry waits for the owner's answer
 * (one round trip), and is refused only when the owner had fewer tokens than asked for: so a
 * burst arriving at any worker gets the bucket's burst, not just the worker's stock.
 */
export class TokenLease {
  private stock = 0;
  private requesting = false;
  private readonly waiters: ((admitted: boolean) => void)[] = [];
  private readonly lowWater: number;

  constructor(
    private readonly requestLease: RequestLease,
    private readonly leaseTokens: number,
  ) {
    this.lowWater = Math.floor(leaseTokens / 2);
  }

  /** One token: true or false now when the stock or a synchronous owner decides, else the owner's answer. */
  take(): boolean | Promise<boolean> {
    if (this.stock === 0 && this.waiters.length === 0) this.topUp();
    if (this.stock > 0 && this.waiters.length === 0) {
      this.stock--;
      if (this.stock <= this.lowWater) this.topUp();
      return true;
    }
    if (!this.requesting) return false; // the owner answered just now: its bucket is empty
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Starts with a lease in hand, so the first calls after start need no round trip. */
  prefetch(): void {
    this.topUp();
  }

  private topUp(): void {
    if (this.requesting) return;
    const want = this.leaseTokens + this.waiters.length;
    const answer = this.requestLease(this.stock, want);
    if (typeof answer === 'number') {
      this.receive(answer, want);
      return;
    }
    this.requesting = true;
    answer.then(
      (granted) => this.receive(granted, want),
      () => this.receive(0, want),
    );
  }

  private receive(granted: number, want: number): void {
    this.requesting = false;
    this.stock += granted;
    while (this.waiters.length > 0 && this.stock > 0) {
      this.stock--;
      this.waiters.shift()!(true);
    }
    if (this.waiters.length === 0) {
      if (this.stock <= this.lowWater && granted === want) this.topUp();
      return;
    }
    // A full grant was only a top-up asked for before these calls came: ask again for them.
    if (granted === want) {
      this.topUp();
      return;
    }
    for (const waiter of this.waiters.splice(0)) waiter(false);
  }
}

/**
 * The gateway's shared throttles (local/gateway/token-bucket.ts) on a fake clock: one bucket,
 * and N simulated workers leasing from its owner over a link with latency, which together
 * must never admit more than burst + rate × t in any interval.
 */
import {
  BucketOwner,
  leaseSize,
  type RateLimit,
  TokenBucket,
  TokenLease,
} from '../../../../local/gateway/token-bucket';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

const now = () => Date.now();

describe('TokenBucket', () => {
  it('starts full, then refills at the rate up to the burst', () => {
    const bucket = new TokenBucket({ ratePerSecond: 100, burst: 50 }, now);

    const first = bucket.take(80);
    jest.advanceTimersByTime(100); // 10 tokens
    const second = bucket.take(80);
    jest.advanceTimersByTime(10_000); // far more than the burst
    const third = bucket.take(80);

    expect([first, second, third]).toEqual([50, 10, 50]);
  });

  it('keeps tokens held elsewhere out of its level', () => {
    const bucket = new TokenBucket({ ratePerSecond: 100, burst: 50 }, now);

    const first = bucket.take(80, 20);
    jest.advanceTimersByTime(10_000);
    const second = bucket.take(80, 45);

    expect([first, second]).toEqual([30, 5]);
  });
});

/**
 * Runs `workers` simulated gateway workers for `durationMs`: every millisecond worker w tries
 * demand(w, ms) calls. Worker 0 owns the bucket; the others lease over a link with
 * `linkLatencyMs` each way. Returns the calls admitted per millisecond (when admitted) and refused.
 */
async function simulate(
  limit: RateLimit,
  workers: number,
  durationMs: number,
  demand: (worker: number, ms: number) => number,
  linkLatencyMs = 1,
) {
  const tokens = leaseSize(limit, workers);
  const owner = new BucketOwner(limit, workers, now);
  const delay = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), linkLatencyMs));
  const leases = Array.from({ length: workers }, (_, w) =>
    w === 0
      ? new TokenLease((stock, want) => owner.lease(0, stock, want), tokens)
      : new TokenLease(async (stock, want) => delay(owner.lease(w, await delay(stock), want)), tokens),
  );
  for (const lease of leases) lease.prefetch();
  await jest.advanceTimersByTimeAsync(2 * linkLatencyMs); // the gateway prefetches before it listens
  const start = Date.now();
  const admitted = new Array<number>(durationMs + 10 * linkLatencyMs).fill(0);
  let refused = 0;
  const record = (ok: boolean) => (ok ? admitted[Date.now() - start]++ : refused++);
  for (let ms = 0; ms < durationMs; ms++) {
    leases.forEach((lease, w) => {
      for (let i = demand(w, ms); i > 0; i--) {
        const verdict = lease.take();
        if (typeof verdict === 'boolean') record(verdict);
        else void verdict.then(record);
      }
    });
    await jest.advanceTimersByTimeAsync(1);
  }
  await jest.advanceTimersByTimeAsync(10 * linkLatencyMs);
  return { admitted, refused };
}

/** The largest excess, over every interval, of the calls admitted over burst + rate × the interval. */
function worstExcess(admittedPerMs: number[], limit: RateLimit): number {
  const prefix = [0];
  for (const n of admittedPerMs) prefix.push(prefix[prefix.length - 1] + n);
  let worst = -Infinity;
  for (let start = 0; start < admittedPerMs.length; start++) {
    for (let end = start + 1; end <= admittedPerMs.length; end++) {
      // calls in milliseconds start..end-1 span at most (end - 1 - start) ms of refill
      const allowed = limit.burst + (limit.ratePerSecond * (end - 1 - start)) / 1000;
      worst = Math.max(worst, prefix[end] - prefix[start] - allowed);
    }
  }
  return worst;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('BucketOwner and TokenLease: one bucket shared by N workers', () => {
  const limit: RateLimit = { ratePerSecond: 10_000, burst: 5_000 };

  it.each([2, 4, 8])(
    '%i workers, all far over the rate, admit no more than the bucket allows and nearly all it allows',
    async (workers) => {
      const durationMs = 2_000;

      const { admitted } = await simulate(limit, workers, durationMs, () => 40);

      expect(worstExcess(admitted, limit)).toBeLessThanOrEqual(0);
      const allowed = limit.burst + (limit.ratePerSecond * durationMs) / 1000;
      expect(sum(admitted)).toBeGreaterThan(0.97 * allowed);
    },
  );

  it('uneven and bursty demand across 4 workers stays within the bucket', async () => {
    const bursty = (w: number, ms: number) => (w === 0 ? 0 : w === 1 ? 30 : ms % 200 < 20 ? 400 : 1);

    const { admitted } = await simulate(limit, 4, 2_000, bursty, 2);

    expect(worstExcess(admitted, limit)).toBeLessThanOrEqual(0);
  });

  it('leases still held by idle workers count against the burst when they all surge at once', async () => {
    const warmIdleSurge = (_w: number, ms: number) => (ms < 50 ? 5 : ms < 1_000 ? 0 : 1_000);

    const { admitted } = await simulate(limit, 4, 1_100, warmIdleSurge);

    expect(worstExcess(admitted, limit)).toBeLessThanOrEqual(0);
    expect(sum(admitted.slice(1_000))).toBeGreaterThan(limit.burst); // the surge did drain the bucket
  });

  it('one worker alone gets the whole rate even when the others hold leases', async () => {
    const small: RateLimit = { ratePerSecond: 200, burst: 100 };
    const onlyWorker2 = (w: number) => (w === 2 ? 5 : 0);

    const { admitted } = await simulate(small, 3, 3_000, onlyWorker2);

    expect(worstExcess(admitted, small)).toBeLessThanOrEqual(0);
    const allowed = small.burst + (small.ratePerSecond * 3_000) / 1000;
    expect(sum(admitted)).toBeGreaterThan(0.95 * allowed);
  });

  it('a worker under the rate is never refused', async () => {
    const underTheRate = (w: number) => (w === 1 ? 4 : 0); // 4,000/s, under 10,000/s

    const { refused } = await simulate(limit, 2, 1_000, underTheRate);

    expect(refused).toBe(0);
  });

  it('a burst arriving in one tick at a worker that does not own the bucket gets the bucket, not just its stock', async () => {
    const burstAtWorker1 = (w: number, ms: number) => (w === 1 && ms === 0 ? 6_000 : 0);

    const { admitted, refused } = await simulate(limit, 2, 50, burstAtWorker1);

    expect(sum(admitted)).toBeGreaterThan(limit.burst - 2 * leaseSize(limit, 2));
    expect(sum(admitted)).toBeLessThanOrEqual(limit.burst + 10 * 10); // + 10 ms of refill at most
    expect(sum(admitted) + refused).toBe(6_000);
  });
});

describe('leaseSize', () => {
  it('is ~20 ms of the rate, at most a quarter of the burst split over the workers, at least 1', () => {
    expect(leaseSize({ ratePerSecond: 10_000, burst: 5_000 }, 2)).toBe(200);
    expect(leaseSize({ ratePerSecond: 10_000, burst: 400 }, 4)).toBe(25);
    expect(leaseSize({ ratePerSecond: 1, burst: 1 }, 8)).toBe(1);
  });
});

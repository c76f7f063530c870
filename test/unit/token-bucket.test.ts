/**
 * The gateway's shared throttles (local/gateway/token-bucket.ts) on a fake clock: one bucket,
 * and N simulated workers leasing from its owner over a link with latency, which together
 * must never admit more than burst + rate × t in any interval.
 */
import { BucketOwner, leaseSize, type RateLimit, TokenBucket, TokenLease } from '../../local/gateway/token-bucket';

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

    expect(bucket.take(80, 20)).toBe(30);
    expect(bucket.msUntilToken()).toBe(10);
  });
});

/**
 * Runs `workers` simulated gateway workers for `durationMs`: every millisecond worker w tries
 * demand(w, ms) calls. Worker 0 owns the bucket; the others lease over a link with
 * `linkLatencyMs` each way. Returns the calls admitted per millisecond.
 */
async function simulate(limit: RateLimit, workers: number, durationMs: number, demand: (worker: number, ms: number) => number, linkLatencyMs = 1) {
  const tokens = leaseSize(limit, workers);
  const owner = new BucketOwner(limit, workers, tokens, now);
  const delay = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), linkLatencyMs));
  const leases = Array.from({ length: workers }, (_, w) =>
    w === 0
      ? new TokenLease((stock) => owner.lease(0, stock), tokens)
      : new TokenLease(async (stock) => delay(await owner.lease(w, await delay(stock))), tokens),
  );
  for (const lease of leases) lease.prefetch();
  const admitted: number[] = [];
  for (let ms = 0; ms < durationMs; ms++) {
    let count = 0;
    leases.forEach((lease, w) => {
      for (let i = demand(w, ms); i > 0; i--) if (lease.tryTake()) count++;
    });
    admitted.push(count);
    await jest.advanceTimersByTimeAsync(1);
  }
  owner.stop();
  return admitted;
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

  it.each([2, 4, 8])('%i workers, all far over the rate, admit no more than the bucket allows and nearly all it allows', async (workers) => {
    const durationMs = 2_000;

    const admitted = await simulate(limit, workers, durationMs, () => 40);

    expect(worstExcess(admitted, limit)).toBeLessThanOrEqual(0);
    const allowed = limit.burst + (limit.ratePerSecond * durationMs) / 1000;
    expect(sum(admitted)).toBeGreaterThan(0.97 * allowed);
  });

  it('uneven and bursty demand across 4 workers stays within the bucket', async () => {
    const bursty = (w: number, ms: number) => (w === 0 ? 0 : w === 1 ? 30 : ms % 200 < 20 ? 400 : 1);

    const admitted = await simulate(limit, 4, 2_000, bursty, 2);

    expect(worstExcess(admitted, limit)).toBeLessThanOrEqual(0);
  });

  it('leases still held by idle workers count against the burst when they all surge at once', async () => {
    const warmIdleSurge = (_w: number, ms: number) => (ms < 50 ? 5 : ms < 1_000 ? 0 : 1_000);

    const admitted = await simulate(limit, 4, 1_100, warmIdleSurge);

    expect(worstExcess(admitted, limit)).toBeLessThanOrEqual(0);
    expect(sum(admitted.slice(1_000))).toBeGreaterThan(limit.burst); // the surge did drain the bucket
  });

  it('one worker alone gets the whole rate even when the others hold leases', async () => {
    const small: RateLimit = { ratePerSecond: 200, burst: 100 };
    const onlyWorker2 = (w: number) => (w === 2 ? 5 : 0);

    const admitted = await simulate(small, 3, 3_000, onlyWorker2);

    expect(worstExcess(admitted, small)).toBeLessThanOrEqual(0);
    const allowed = small.burst + (small.ratePerSecond * 3_000) / 1000;
    expect(sum(admitted)).toBeGreaterThan(0.95 * allowed);
  });

  it('a worker under the rate is never refused', async () => {
    const lease = await (async () => {
      const owner = new BucketOwner(limit, 2, leaseSize(limit, 2), now);
      const remote = new TokenLease(async (stock) => owner.lease(1, stock), leaseSize(limit, 2));
      remote.prefetch();
      await jest.advanceTimersByTimeAsync(1); // the gateway prefetches before it listens
      for (let ms = 0; ms < 1_000; ms++) {
        for (let i = 0; i < 4; i++) remote.tryTake(); // 4,000/s, under 10,000/s
        await jest.advanceTimersByTimeAsync(1);
      }
      owner.stop();
      return remote;
    })();

    expect(lease.refused).toBe(0);
  });
});

describe('leaseSize', () => {
  it('is ~20 ms of the rate, at most a quarter of the burst split over the workers, at least 1', () => {
    expect(leaseSize({ ratePerSecond: 10_000, burst: 5_000 }, 2)).toBe(200);
    expect(leaseSize({ ratePerSecond: 10_000, burst: 400 }, 4)).toBe(25);
    expect(leaseSize({ ratePerSecond: 1, burst: 1 }, 8)).toBe(1);
  });
});

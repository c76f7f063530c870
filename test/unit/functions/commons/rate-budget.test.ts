import type { PostOutcome } from '#commons/clients/management-api';
import { settleConnections } from '#commons/delivery';
import { ConcurrencyLimit } from '#commons/helpers/concurrency';
import {
  LEASE_GRACE_MS,
  LEASE_MS,
  RateBudget,
  leaseTokensFor,
  systemClock,
  type BudgetClockItem,
  type LeaseStore,
  type LeaseWrite,
} from '#commons/rate-budget';
import { InMemoryLeaseStore, VirtualClock } from '../../fixtures/budget-simulation';
import { leaseStoreContract } from '../../fixtures/lease-store-contract';

const RATE = 9_000;
const START = Date.UTC(2026, 10, 23, 12); // a realistic epoch: microsecond clock values near 1.8e15
const SECONDS = 5;
/** Calls in flight per consumer invocation (the postConcurrency default) and the round trip of one call. */
const WORKERS = 200;
const ROUND_TRIP_MS = 20;

interface Consumer {
  rate: number;
  /** When this consumer starts and stops asking (ms after START); consumers of a broadcast arrive over its first half second. */
  fromMs?: number;
  toMs?: number;
  /** Answers 429 to this share of its calls. */
  throttledShare?: number;
}

/** Runs consumers on one budget in virtual time; returns the start time of every call. */
async function simulate(consumers: Consumer[], seconds = SECONDS) {
  const clock = new VirtualClock(START);
  const store = new InMemoryLeaseStore(clock);
  const calls: number[] = [];
  const end = START + seconds * 1000;
  consumers.forEach((consumer, index) => {
    const run = async () => {
      await clock.sleep(consumer.fromMs ?? 0);
      const budget = new RateBudget({
        store,
        clock,
        ratePerSecond: consumer.rate,
        latestStartMs: end + 60_000,
      });
      budget.expect(Number.POSITIVE_INFINITY);
      const stopAt = START + (consumer.toMs ?? seconds * 1000);
      let n = 0;
      const worker = async () => {
        while (clock.now() < stopAt && (await budget.take()) && clock.now() < stopAt) {
          calls.push(clock.now());
          // Spread round trips 15-25 ms, deterministically.
          await clock.sleep(ROUND_TRIP_MS - 5 + ((index * 7 + n++ * 13) % 11));
          if (consumer.throttledShare && n % Math.round(1 / consumer.throttledShare) === 0) budget.throttled();
        }
      };
      await Promise.all(Array.from({ length: WORKERS }, worker));
    };
    void run();
  });
  await clock.runUntil(end);
  return { calls, store };
}

/** Calls in every one-second window starting at START + k·step (sliding, not only calendar seconds). */
function callsPerSecondWindow(times: number[], seconds = SECONDS, stepMs = 10): number[] {
  const sorted = [...times].sort((a, b) => a - b);
  const counts: number[] = [];
  let lo = 0;
  let hi = 0;
  for (let from = START; from + 1000 <= START + seconds * 1000; from += stepMs) {
    while (lo < sorted.length && sorted[lo] < from) lo++;
    while (hi < sorted.length && sorted[hi] < from + 1000) hi++;
    counts.push(hi - lo);
  }
  return counts;
}

describe('RateBudget: consumers sharing one lease item, in virtual time', () => {
  it.each([1, 10, 100, 500])(
    '%i consumers never exceed the rate by more than 10 %% in any second, and use at least 90 %% of it',
    async (consumers) => {
      // prepare: the consumers arrive over the first half second, as SQS hands out the first batches
      const everyone = Array.from(
        { length: consumers },
        (_, i): Consumer => ({ rate: RATE, fromMs: Math.floor((i * 500) / consumers) }),
      );

      // act
      const { calls, store } = await simulate(everyone);

      // assess
      const windows = callsPerSecondWindow(calls);
      expect(Math.max(...windows)).toBeLessThanOrEqual(1.1 * RATE);
      expect(Math.min(...windows)).toBeGreaterThanOrEqual(0.9 * RATE);
      // One write per lease of LEASE_MS of budget: 40/s once every consumer runs, far below DynamoDB's
      // 1,000 WCU/s per partition; in the second they arrive, one more write per arriving consumer.
      const [firstSecond, ...later] = [...store.writesPerSecond.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, writes]) => writes);
      expect(Math.max(...later)).toBeLessThanOrEqual((1000 / LEASE_MS) * 1.25);
      expect(firstSecond).toBeLessThanOrEqual(consumers + (1000 / LEASE_MS) * 1.25 + 5);
    },
    60_000,
  );

  it('one consumer alone gets all of the budget (≥ 90 % in every second)', async () => {
    const { calls } = await simulate([{ rate: RATE }]);
    const perCalendarSecond = Array.from(
      { length: SECONDS },
      (_, s) => calls.filter((t) => t >= START + s * 1000 && t < START + (s + 1) * 1000).length,
    );
    for (const count of perCalendarSecond) expect(count).toBeGreaterThanOrEqual(0.9 * RATE);
  });

  it('429s shrink the share of the invocation that gets them', async () => {
    const { calls } = await simulate([{ rate: RATE, throttledShare: 0.05 }]);
    expect(Math.max(...callsPerSecondWindow(calls))).toBeLessThan(0.5 * RATE);
  });

  it('a budget that closes at its deadline still spends the calls it leased: reserved time is never left unused', async () => {
    // prepare: one invocation that may start leases for 300 ms, with more calls waiting than that allows
    const clock = new VirtualClock(START);
    const budget = new RateBudget({
      store: new InMemoryLeaseStore(clock),
      clock,
      ratePerSecond: 1_000,
      latestStartMs: START + 300,
    });
    budget.expect(Number.POSITIVE_INFINITY);
    const worker = async () => {
      while (await budget.take()) await clock.sleep(ROUND_TRIP_MS);
    };

    // act
    void Promise.all(Array.from({ length: 50 }, worker));
    await clock.runUntil(START + 2_000);

    // assess: every leased call went out (none dropped, none abandoned when the budget closed)
    expect(budget.closed?.reason).toMatch(/^(deadline|busy)$/); // no lease may start after latestStartMs
    expect(budget.leased).toBeGreaterThanOrEqual(300);
    expect(budget.granted).toBe(budget.leased);
  });

  it('a lease is LEASE_MS of the rate, at least one call', () => {
    expect(leaseTokensFor(9_000)).toBe(225);
    expect(leaseTokensFor(10)).toBe(1);
  });
});

describe('InMemoryLeaseStore keeps the lease-store contract (the DynamoDB store keeps it in test/integration/swarmcast/rate-budget.test.ts)', () => {
  it.each(leaseStoreContract)('%s', async (_, contract) => {
    await contract(new InMemoryLeaseStore(systemClock, 0));
  });
});

describe('RateBudget decisions, one invocation at a time', () => {
  const rate = 1_000; // one call per ms: a lease of LEASE_MS holds 25 calls

  it('calls due during a stall are dropped after LEASE_GRACE_MS, not sent together afterwards', async () => {
    // prepare: a slow store makes leases long (twice its round trip), so a stall leaves many calls due
    const clock = new VirtualClock(START);
    const budget = new RateBudget({
      store: new InMemoryLeaseStore(clock, 100),
      clock,
      ratePerSecond: rate,
      latestStartMs: START + 60_000,
    });
    budget.expect(Number.POSITIVE_INFINITY);
    const calls: number[] = [];
    const worker = async () => {
      while (clock.now() < START + 3_000 && (await budget.take())) {
        calls.push(clock.now());
        // Every worker stalls in the first 150 ms of each 300 (a slow store, a GC pause), then takes again at once.
        const phase = (clock.now() - START) % 300;
        await clock.sleep(phase < 150 ? 150 - phase : 1);
      }
    };

    // act
    void Promise.all(Array.from({ length: 50 }, worker));
    await clock.runUntil(START + 3_000);

    // assess: calls granted in any 10 ms were due within those 10 ms or the 25 ms of grace before them
    const sorted = [...calls].sort((a, b) => a - b);
    let busiest = 0;
    for (let lo = 0, hi = 0; lo < sorted.length; lo++) {
      while (hi < sorted.length && sorted[hi] < sorted[lo] + 10) hi++;
      busiest = Math.max(busiest, hi - lo);
    }
    expect(LEASE_GRACE_MS).toBe(25);
    expect(busiest).toBeLessThanOrEqual(((10 + 25) * rate) / 1000 + 1);
    expect(budget.dropped).toBeGreaterThan(0);
  });

  it('a burst of 429s at one instant halves the share once, not once per 429', async () => {
    // prepare: one full-rate lease of 25 calls, spent
    const clock = new VirtualClock(START);
    const budget = new RateBudget({
      store: new InMemoryLeaseStore(clock),
      clock,
      ratePerSecond: rate,
      latestStartMs: START + 60_000,
    });
    const grants: number[] = [];
    const takeCalls = async (n: number) => {
      budget.expect(n);
      for (let i = 0; i < n; i++) if (await budget.take()) grants.push(clock.now());
    };
    const first = takeCalls(25);
    await clock.runUntil(START + 100);
    await first;

    // act: ten calls answer 429 at the same instant; then the next calls lease
    for (let i = 0; i < 10; i++) budget.throttled();
    const second = takeCalls(2);
    await clock.runUntil(START + 1_000);
    await second;

    // assess: the next calls are due 2 ms apart (half the rate), not 16 ms (a sixteenth)
    const afterCut = grants.slice(25);
    expect(grants).toHaveLength(27);
    expect(afterCut[1] - afterCut[0]).toBe(2);
  });

  it('after 429s stop, the share grows back to the full rate lease by lease', async () => {
    // prepare: 20 calls in flight; 429s, one per lease's time, during the first 200 ms only
    const clock = new VirtualClock(START);
    const budget = new RateBudget({
      store: new InMemoryLeaseStore(clock),
      clock,
      ratePerSecond: rate,
      latestStartMs: START + 60_000,
    });
    budget.expect(Number.POSITIVE_INFINITY);
    const calls: number[] = [];
    const worker = async () => {
      while (clock.now() < START + 2_000 && (await budget.take())) {
        calls.push(clock.now());
        if (calls.length % 25 === 0 && clock.now() < START + 200) budget.throttled();
        await clock.sleep(1);
      }
    };

    // act
    void Promise.all(Array.from({ length: 20 }, worker));
    await clock.runUntil(START + 2_000);

    // assess: the 429s slowed it; in the last second it runs at the full rate again
    expect(calls.filter((t) => t < START + 250).length).toBeLessThan(0.5 * 250);
    expect(calls.filter((t) => t >= START + 1_000 && t < START + 2_000).length).toBeGreaterThanOrEqual(0.9 * rate);
  });

  it('a budget closed while it holds a lease still grants every call of that lease, at its due time, and refuses only the calls beyond it', async () => {
    // prepare: the invocation may start leases only in its first millisecond: one lease of 25 calls, then the budget closes
    const clock = new VirtualClock(START);
    const budget = new RateBudget({
      store: new InMemoryLeaseStore(clock),
      clock,
      ratePerSecond: rate,
      latestStartMs: START + 1,
    });
    budget.expect(Number.POSITIVE_INFINITY);
    const granted: number[] = [];
    let refused = 0;
    const take = async () => ((await budget.take()) ? granted.push(clock.now()) : refused++);

    // act: 10 calls ask before it closes, 30 after
    const early = Array.from({ length: 10 }, take);
    while (!budget.closed) await clock.runUntil(clock.now() + 1);
    expect(granted.length).toBeLessThan(10);
    const late = Array.from({ length: 30 }, take);
    await clock.runUntil(START + 1_000);
    await Promise.all([...early, ...late]);

    // assess
    expect(budget.closed).toEqual({ reason: 'deadline', retryAfterMs: 0 });
    expect(budget.leased).toBe(25);
    expect(granted).toHaveLength(25);
    expect(refused).toBe(15);
    expect(new Set(granted).size).toBeGreaterThan(10); // spread over the lease, not at once
  });
});

describe("the account-wide 429 signal: full sockets or the account's throttle, decided across consumers", () => {
  const rate = 1_000;
  const CONSUMERS = 8;
  const RUN_MS = 5_000;

  /** One container's view of the shared item: its own lastSeen, as each Lambda container has. */
  class ContainerView implements LeaseStore {
    lastSeen?: BudgetClockItem;
    constructor(private readonly shared: InMemoryLeaseStore) {}
    async apply(write: LeaseWrite) {
      const result = await this.shared.apply(write);
      this.lastSeen = result.item;
      return result;
    }
  }

  /**
   * Consumers deliver tasks of 50 sockets through settleConnections on one budget item, in virtual
   * time. Every `slowEvery`-th socket is full (429 on every call); an account quota of `quota`
   * calls/s (a token bucket, burst 5 %) answers 429 to any call over it.
   */
  async function deliverWith({ slowEvery, quota }: { slowEvery?: number; quota?: number }) {
    const clock = new VirtualClock(START);
    const shared = new InMemoryLeaseStore(clock);
    const calls: number[] = [];
    const throttledAt: number[] = [];
    const fullSockets = new Set<string>();
    const delayed: string[] = [];
    const accountThrottled: string[] = [];
    let decidedAccount = 0;
    let decisions = 0;
    let tokens = quota ? quota / 20 : 0;
    let refilledAt = START;
    const probe = async (id: string): Promise<PostOutcome> => {
      calls.push(clock.now());
      if (quota) {
        tokens = Math.min(quota / 20, tokens + ((clock.now() - refilledAt) * quota) / 1000);
        refilledAt = clock.now();
      }
      await clock.sleep(ROUND_TRIP_MS);
      const overQuota = quota !== undefined && tokens < 1;
      if (!overQuota && quota) tokens--;
      if (overQuota || fullSockets.has(id)) {
        throttledAt.push(clock.now());
        return 'throttled';
      }
      return 'delivered';
    };
    let next = 0;
    const consumer = async () => {
      const budget = new RateBudget({
        store: new ContainerView(shared),
        clock,
        ratePerSecond: rate,
        latestStartMs: START + RUN_MS,
      });
      const limit = new ConcurrencyLimit(25);
      while (clock.now() < START + RUN_MS - 100 && !budget.closed) {
        const ids = Array.from({ length: 50 }, () => `s${next++}`);
        for (const id of ids) if (slowEvery && Number(id.slice(1)) % slowEvery === 0) fullSockets.add(id);
        const settled = await settleConnections(ids, probe, { limit, budget, retries: 0, retryBaseMs: 1 });
        delayed.push(...settled.throttled);
        accountThrottled.push(...settled.accountThrottled);
        decisions++;
        if (budget.accountThrottled()) decidedAccount++;
      }
    };
    const done = Promise.all(Array.from({ length: CONSUMERS }, consumer));
    await clock.runUntil(START + RUN_MS + 1_000);
    await done;
    const lastSeconds = (times: number[]) =>
      times.filter((t) => t >= START + RUN_MS - 3_000 && t < START + RUN_MS).length / 3;
    return {
      callsPerSecond: lastSeconds(calls),
      throttledPerSecond: lastSeconds(throttledAt),
      fullSockets,
      delayed,
      accountThrottled,
      accountShareOfDecisions: decidedAccount / decisions,
    };
  }

  it('a few full sockets (2 %): the rate stays, and each full socket goes back to the queue after one retry', async () => {
    const { callsPerSecond, fullSockets, delayed, accountThrottled, accountShareOfDecisions } = await deliverWith({
      slowEvery: 50,
    });
    expect(callsPerSecond).toBeGreaterThanOrEqual(0.9 * rate);
    expect(new Set(delayed)).toEqual(new Set([...fullSockets].filter((id) => delayed.includes(id))));
    expect(delayed.length).toBeGreaterThanOrEqual(0.9 * fullSockets.size);
    expect(accountThrottled.length).toBeLessThanOrEqual(0.1 * fullSockets.size);
    expect(accountShareOfDecisions).toBeLessThan(0.1);
  });

  it('429s across many sockets (an account quota at 60 % of the rate): the rate comes down to about the quota, no socket is taken for full', async () => {
    const { callsPerSecond, throttledPerSecond, delayed, accountShareOfDecisions } = await deliverWith({ quota: 600 });
    expect(callsPerSecond).toBeLessThanOrEqual(0.8 * rate);
    expect(throttledPerSecond).toBeLessThan(0.2 * callsPerSecond);
    expect(delayed.length).toBeLessThanOrEqual(5);
    expect(accountShareOfDecisions).toBeGreaterThan(0.5);
  });

  it("both: full sockets beside an account over its quota: the rate comes down, the account's 429s still count as the account's", async () => {
    const { callsPerSecond, accountShareOfDecisions } = await deliverWith({ slowEvery: 50, quota: 600 });
    expect(callsPerSecond).toBeLessThanOrEqual(0.8 * rate);
    expect(accountShareOfDecisions).toBeGreaterThan(0.5);
  });
});

import { LEASE_MS, RateBudget, leaseTokensFor, systemClock, type BudgetParty } from '#commons/rate-budget';
import { InMemoryLeaseStore, VirtualClock } from './fixtures/budget-simulation';
import { leaseStoreContract } from './fixtures/lease-store-contract';

const RATE = 9_000;
const START = Date.UTC(2026, 10, 23, 12); // a realistic epoch: microsecond clock values near 1.8e15
const SECONDS = 5;
/** Calls in flight per consumer invocation (the postConcurrency default) and the round trip of one call. */
const WORKERS = 200;
const ROUND_TRIP_MS = 20;

interface Consumer {
  party: BudgetParty;
  rate: number;
  /** When this consumer starts and stops asking (ms after START); consumers of a broadcast arrive over its first half second. */
  fromMs?: number;
  toMs?: number;
  /** Answers 429 to this share of its calls. */
  throttledShare?: number;
}

/** Runs consumers on one budget in virtual time; returns the start time of every call, per party. */
async function simulate(consumers: Consumer[], seconds = SECONDS) {
  const clock = new VirtualClock(START);
  const store = new InMemoryLeaseStore(clock);
  const calls: Record<BudgetParty, number[]> = { broadcast: [], sweep: [] };
  const end = START + seconds * 1000;
  consumers.forEach((consumer, index) => {
    const run = async () => {
      await clock.sleep(consumer.fromMs ?? 0);
      const budget = new RateBudget({ store, clock, party: consumer.party, ratePerSecond: consumer.rate, latestStartMs: end + 60_000 });
      budget.expect(Number.POSITIVE_INFINITY);
      const stopAt = START + (consumer.toMs ?? seconds * 1000);
      let n = 0;
      const worker = async () => {
        while (clock.now() < stopAt && (await budget.take()) && clock.now() < stopAt) {
          calls[consumer.party].push(clock.now());
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
  it.each([1, 10, 100, 500])('%i consumers never exceed the rate by more than 10 %% in any second, and use at least 90 %% of it', async (consumers) => {
    // prepare: the consumers arrive over the first half second, as SQS hands out the first batches
    const everyone = Array.from({ length: consumers }, (_, i): Consumer => ({ party: 'broadcast', rate: RATE, fromMs: Math.floor((i * 500) / consumers) }));

    // act
    const { calls, store } = await simulate(everyone);

    // assess
    const windows = callsPerSecondWindow(calls.broadcast);
    expect(Math.max(...windows)).toBeLessThanOrEqual(1.1 * RATE);
    expect(Math.min(...windows)).toBeGreaterThanOrEqual(0.9 * RATE);
    // One write per lease of LEASE_MS of budget: 40/s once every consumer runs, far below DynamoDB's
    // 1,000 WCU/s per partition; in the second they arrive, one more write per arriving consumer.
    const [firstSecond, ...later] = [...store.writesPerSecond.entries()].sort(([a], [b]) => a - b).map(([, writes]) => writes);
    expect(Math.max(...later)).toBeLessThanOrEqual((1000 / LEASE_MS) * 1.25);
    expect(firstSecond).toBeLessThanOrEqual(consumers + (1000 / LEASE_MS) * 1.25 + 5);
  }, 60_000);

  it('one consumer alone gets all of the budget (≥ 90 % in every second)', async () => {
    const { calls } = await simulate([{ party: 'broadcast', rate: RATE }]);
    const perCalendarSecond = Array.from({ length: SECONDS }, (_, s) => calls.broadcast.filter((t) => t >= START + s * 1000 && t < START + (s + 1) * 1000).length);
    for (const count of perCalendarSecond) expect(count).toBeGreaterThanOrEqual(0.9 * RATE);
  });

  it('the sweep stays within its share, and yields to a broadcast that starts while it runs', async () => {
    // prepare: two sweep consumers from the start, a broadcast of ten consumers from the second second to the fourth
    const sweeps = Array.from({ length: 2 }, (): Consumer => ({ party: 'sweep', rate: 1_000 }));
    const broadcast = Array.from({ length: 10 }, (): Consumer => ({ party: 'broadcast', rate: RATE, fromMs: 1_000, toMs: 3_000 }));

    // act
    const { calls } = await simulate([...sweeps, ...broadcast]);

    // assess
    expect(Math.max(...callsPerSecondWindow(calls.sweep))).toBeLessThanOrEqual(1.1 * 1_000);
    expect(calls.sweep.filter((t) => t < START + 1_000).length).toBeGreaterThanOrEqual(900);
    // Once the broadcast leases, the sweep's budgets close ('yield') and it leases nothing more.
    expect(calls.sweep.filter((t) => t >= START + 1_100).length).toBe(0);
    expect(Math.max(...callsPerSecondWindow([...calls.sweep, ...calls.broadcast]))).toBeLessThanOrEqual(1.1 * RATE);
  });

  it('429s shrink the share of the invocation that gets them', async () => {
    const { calls } = await simulate([{ party: 'broadcast', rate: RATE, throttledShare: 0.05 }]);
    expect(Math.max(...callsPerSecondWindow(calls.broadcast))).toBeLessThan(0.5 * RATE);
  });

  it('a budget that closes at its deadline still spends the calls it leased: reserved time is never left unused', async () => {
    // prepare: one invocation that may start leases for 300 ms, with more calls waiting than that allows
    const clock = new VirtualClock(START);
    const budget = new RateBudget({ store: new InMemoryLeaseStore(clock), clock, party: 'broadcast', ratePerSecond: 1_000, latestStartMs: START + 300 });
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

describe('InMemoryLeaseStore keeps the lease-store contract (the DynamoDB store keeps it in test/integration/rate-budget.test.ts)', () => {
  it.each(leaseStoreContract)('%s', async (_, contract) => {
    await contract(new InMemoryLeaseStore(systemClock, 0));
  });
});

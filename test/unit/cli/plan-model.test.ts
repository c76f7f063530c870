import { resolveConfig } from '../../../infra/config';
import {
  budgetFor,
  CODE_FACTS,
  DEFAULT_QUOTA,
  planBroadcast,
  standingCost,
  type PlanInput,
  type Quota,
} from '../../../cli/plan-model';

const config = resolveConfig();
const plan = (overrides: Partial<PlanInput> = {}, budget?: number) =>
  planBroadcast(
    { connections: 1_000_000, messageBytes: 1_024, quota: DEFAULT_QUOTA, config, site: 'aws', ...overrides },
    budget,
  );

describe('planBroadcast at 1M sockets, default configuration and quota: the design desk estimate of one 1M broadcast cost', () => {
  // Tolerances, stated: API Gateway is pure arithmetic (±2 %); Lambda depends on how long the consumers
  // are held (±35 %); Step Functions on how often progress is polled (±60 %). For DynamoDB and SQS the
  // model counts the code's requests (small count items, a write per lease, ~1,250 SQS requests), far
  // below the design's desk estimate; the test holds them to at most that estimate.
  const small = plan();
  const large = plan({ messageBytes: 128 * 1024 });

  it('bills API Gateway per 32 KB: ≈ $1.00 for a small message, ≈ $4 for 128 KB', () => {
    expect(small.costUsd.byService['API Gateway']).toBeCloseTo(1.0, 2);
    expect(large.costUsd.byService['API Gateway']).toBeCloseTo(4.0, 2);
  });

  it('lands near the Lambda and Step Functions figures, and below the DynamoDB and SQS ones', () => {
    const { byService } = small.costUsd;

    expect(Math.abs(byService.Lambda / 0.15 - 1)).toBeLessThanOrEqual(0.35);
    expect(Math.abs(byService['Step Functions'] / 0.015 - 1)).toBeLessThanOrEqual(0.6);
    expect(byService.DynamoDB).toBeGreaterThan(0);
    expect(byService.DynamoDB).toBeLessThanOrEqual(0.13);
    expect(byService.SQS).toBeGreaterThan(0);
    expect(byService.SQS).toBeLessThanOrEqual(0.015);
  });

  it('totals within 20 % of the sum of the figures, and the total is the sum of its items', () => {
    expect(Math.abs(small.costUsd.total / (1.0 + 0.15 + 0.13 + 0.015 + 0.015) - 1)).toBeLessThanOrEqual(0.2);
    expect(small.costUsd.total).toBeCloseTo(
      small.costUsd.items.reduce((sum, item) => sum + item.usd, 0),
      10,
    );
  });

  it('bills one done-mark write per delivery task: the same broadcast cut into twice the tasks, in as many invocations, costs a write unit more per extra task', () => {
    // prepare: 100 ids a task, 10 tasks a batch; then 50 ids a task, 20 tasks a batch
    const writeUnits = (overrides: Partial<typeof config>) => {
      const cut = planBroadcast({
        connections: 1_000_000,
        messageBytes: 1_024,
        quota: DEFAULT_QUOTA,
        config: resolveConfig(overrides),
        site: 'aws',
      });
      return {
        tasks: cut.deliveryTasks,
        writes: cut.costUsd.items.find((item) => item.service === 'DynamoDB' && item.unit === 'WRU')!.quantity,
      };
    };

    // act
    const coarse = writeUnits({ connectionIdsPerMessage: 100, consumerBatchSize: 10 });
    const fine = writeUnits({ connectionIdsPerMessage: 50, consumerBatchSize: 20 });

    // assess
    expect(fine.tasks).toBe(2 * coarse.tasks);
    expect(fine.writes - coarse.writes).toBeGreaterThanOrEqual(fine.tasks - coarse.tasks);
  });

  it('prices keeping the sockets connected separately: ≈ $15 an hour', () => {
    expect(small.connectionHourUsd).toBeCloseTo(15, 6);
  });

  it('delivers at the budget (9,000/s), one call per socket, in N/budget plus a start-up of a few seconds', () => {
    expect(small.limitedBy).toBe('budget');
    expect(small.calls).toBe(1_000_000);
    expect(small.throttledCalls).toBe(0);
    expect(small.durationMs).toBeGreaterThanOrEqual((1_000_000 / 9_000) * 1000);
    expect(small.durationMs).toBeLessThanOrEqual((1_000_000 / 9_000) * 1000 + 10_000);
  });

  it('needs a handful of consumer instances: rate × (post CPU + round trip) / postConcurrency', () => {
    // 9,000/s × (0.1 + 20) ms / 450 posts in flight per instance (postConcurrencyFor(9,000)) = 0.4
    expect(small.lambda.neededConcurrency).toBe(1);
    expect(small.lambda.maxConcurrency).toBe(config.shards * config.consumerMaxConcurrency);
  });
});

describe('planBroadcast: time is never below N / quota', () => {
  const quotas: Quota[] = [
    { ratePerSecond: 100, burst: 50 },
    { ratePerSecond: 2_000, burst: 1_000 },
    DEFAULT_QUOTA,
    { ratePerSecond: 50_000, burst: 25_000 },
  ];
  const cases = [1, 1_000, 100_000, 1_000_000, 10_000_000].flatMap((connections) =>
    quotas.flatMap((quota) => (['aws', 'local'] as const).map((site) => ({ connections, quota, site }))),
  );

  it.each(cases)('%j with the budget at its share of the quota', ({ connections, quota, site }) => {
    const result = plan({ connections, quota, site });

    expect(result.durationMs).toBeGreaterThanOrEqual((connections / quota.ratePerSecond) * 1000);
  });

  it.each(cases)(
    '%j with a budget above the quota: only the burst can be ahead, and 429s cost calls',
    ({ connections, quota, site }) => {
      const result = plan({ connections, quota, site }, quota.ratePerSecond * 2);

      const tryingFasterThanQuota = result.consumerCapacityPerSecond > quota.ratePerSecond;
      expect(result.deliveryRatePerSecond).toBeLessThanOrEqual(quota.ratePerSecond);
      expect(result.durationMs).toBeGreaterThanOrEqual(
        (Math.max(0, connections - quota.burst) / quota.ratePerSecond) * 1000,
      );
      expect(result.calls).toBe(connections + result.throttledCalls);
      expect(result.throttledCalls > 0).toBe(tryingFasterThanQuota && connections > quota.burst);
    },
  );
});

describe('planBroadcast: the burst', () => {
  it('is never spent while the budget stays below the quota: N / budget after the first delivery', () => {
    const result = plan();

    expect(result.durationMs).toBeCloseTo(result.firstDeliveryMs + (1_000_000 / 9_000) * 1000, 3);
  });

  it('carries the first calls ahead of the rate when consumers try faster than the quota', () => {
    const result = plan({}, 20_000);

    expect(result.durationMs).toBeCloseTo(result.firstDeliveryMs + ((1_000_000 - 5_000) / 10_000) * 1000, 3);
    // every call beyond the quota's pace is answered 429: (20,000 − 10,000) / 10,000 per call delivered after the burst
    expect(result.throttledCalls).toBe(995_000);
  });
});

describe('planBroadcast: what limits the delivery', () => {
  it('the consumers, when too few instances post too few calls at once', () => {
    const result = plan({ config: resolveConfig({ shards: 1, consumerMaxConcurrency: 2, postConcurrency: 1 }) });

    // 2 instances × 1 post in flight / 20.1 ms ≈ 99.5 calls/s
    expect(result.limitedBy).toBe('consumers');
    expect(result.deliveryRatePerSecond).toBeCloseTo(2 / 0.0201, 1);
  });

  it('the CPU of one instance, when it keeps many posts in flight', () => {
    const quota = { ratePerSecond: 50_000, burst: 25_000 };
    const result = plan({ quota, config: resolveConfig({ postConcurrency: 1_000 }) });

    // 45,000/s at 0.1 ms of CPU each, one vCPU per instance
    expect(result.lambda.neededConcurrency).toBe(5);
  });

  it('the fan-out, when one map child at a time queries one partition', () => {
    const result = plan({ config: resolveConfig({ mapMaxConcurrency: 1, partitionsPerChild: 1 }) });

    expect(result.limitedBy).toBe('fan-out');
    expect(result.durationMs).toBeGreaterThan(result.fanOutMs);
  });

  it('keeps the budget its share of an emulated quota, unless it was set explicitly', () => {
    const quota = { ratePerSecond: 2_000, burst: 1_000 };

    expect(budgetFor(config, quota, false)).toBe(1_800);
    expect(budgetFor(config, quota, true)).toBe(9_000);
  });
});

describe('planBroadcast: warnings', () => {
  it('none at the defaults for 100,000 sockets', () => {
    expect(plan({ connections: 100_000 }).warnings).toEqual([]);
  });

  it("at 1M sockets: their keep-alives are over the stage's route throttle, and with the reconnects and the budget over the account's quota", () => {
    expect(plan().warnings).toEqual([
      expect.stringMatching(
        /^1,000,000 clients send ~1,852 keep-alives\/s, over the stage's route throttle \(routeThrottleRatePerSecond 1,000\/s\)/,
      ),
      expect.stringMatching(
        /^keep-alives and reconnects \(~2,007\/s\) plus the delivery budget \(9,000\/s\) exceed the account's 10,000\/s/,
      ),
    ]);
    expect(plan({ config: resolveConfig({ routeThrottleRatePerSecond: 2_000 }) }, 7_900).warnings).toEqual([]);
  });

  it("when one invocation would outlast post-message's timeout at its share of the rate", () => {
    // 10 tasks × 400 ids = 4,000 posts at 1,800/s shared by 50 instances (36/s each): ~111 s
    const result = plan({ quota: { ratePerSecond: 2_000, burst: 1_000 } });

    expect(result.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^one consumer invocation \(4,000 posts at ~36\/s, its share of the rate\) takes ~112 s, over post-message's 60 s timeout/,
        ),
      ]),
    );
  });

  it('when the consumers and map children may need more Lambda instances than the account has', () => {
    const result = plan({ config: resolveConfig({ shards: 20, consumerMaxConcurrency: 50 }) });

    expect(result.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^up to 1,100 Lambda instances at once \(consumers 1,000 \+ map children 100\) exceed the account's default 1,000/,
        ),
      ]),
    );
  });
});

describe('planBroadcast: the local calibration (bench:quota, N = 100,000)', () => {
  it('at 2,000/1,000 predicts the measured run within 15 %: the budget sets the pace', () => {
    const quota = { ratePerSecond: 2_000, burst: 1_000 };
    const result = planBroadcast({ connections: 100_000, messageBytes: 1_024, quota, config, site: 'local' });
    // bench/README.md: the swarmcast mode's last delivery, median of three runs on a quiet machine.
    const measuredMs = 61_700;

    expect(result.limitedBy).toBe('budget');
    expect(result.budgetPerSecond).toBe(1_800);
    expect(Math.abs(result.durationMs - measuredMs) / measuredMs).toBeLessThanOrEqual(0.15);
  });

  it('at a quota the machine cannot reach, the consumers on its two cores set the pace (~4,900 deliveries/s measured)', () => {
    const quota = { ratePerSecond: 100_000, burst: 50_000 };
    const result = planBroadcast({ connections: 100_000, messageBytes: 1_024, quota, config, site: 'local' });

    expect(result.limitedBy).toBe('consumers');
    expect(Math.abs(result.deliveryRatePerSecond - 4_900) / 4_900).toBeLessThanOrEqual(0.15);
  });
});

describe('planBroadcast: a deadline', () => {
  it('says when the quota makes it impossible, and what would help', () => {
    const result = plan({ deadlineSeconds: 30 });

    expect(result.deadline?.met).toBe(false);
    expect(result.deadline?.advice).toMatch(
      /^1,000,000 sockets cannot be reached in 30 s at 10,000 calls\/s: needs ≥ 33,334\/s \(.+\); ask for a quota increase or split over (\d+) accounts$/,
    );
    const accounts = Number(/split over (\d+) accounts/.exec(result.deadline!.advice!)![1]);
    // That many accounts, each delivering at its budget, make the deadline.
    const split = plan({ connections: Math.ceil(1_000_000 / accounts), deadlineSeconds: 30 });
    expect(split.deadline?.met).toBe(true);
  });

  it('says so when the start-up alone is longer', () => {
    expect(plan({ deadlineSeconds: 1 }).deadline?.advice).toMatch(/the start-up alone takes \d+\.\d s/);
  });

  it('is met when the plan fits', () => {
    expect(plan({ connections: 100_000, deadlineSeconds: 30 }).deadline).toEqual({ seconds: 30, met: true });
  });
});

describe('the plan reads what the code does', () => {
  it('pins the code facts it relies on: when one changes, this fails, and the figures of `plan` in docs/planning.md need a look', () => {
    expect(CODE_FACTS).toEqual({
      leaseMs: 25,
      enqueuedGroupSize: 64,
      deliveryCountShards: 16,
      // connectionId (12 + 16) + partition (9 + 3) + expiresAt (9 + 6)
      connectionRowBytes: 55,
      broadcastItemKeyBytes: 'broadcastId'.length + 40 + 'item'.length + 'message'.length,
      connectWrites: 1,
      disconnectWrites: 1,
      meanKeepAliveIntervalMs: 9 * 60_000,
      meanRecycleAfterMs: 107.5 * 60_000,
    });
  });

  it('counts one budget write per lease of LEASE_MS, not per second', () => {
    // Writes at the defaults: message + plan items, the enqueued groups, a claim per partition, a done mark per task, a count per invocation, the leases.
    const result = plan();
    const writes = result.costUsd.items.find((item) => item.item === 'write units')!.quantity;
    const deliverySeconds = (result.durationMs - result.firstDeliveryMs) / 1000;
    const leases = Math.ceil((deliverySeconds * 1000) / CODE_FACTS.leaseMs);
    expect(leases).toBeGreaterThan(4_000);
    expect(writes).toBeGreaterThan(leases);
    expect(writes).toBeLessThan(leases + 3 * config.partitions + 1_000);
  });
});

describe('standing cost of N connected sockets, per hour', () => {
  it('at 1M: $15 of connection minutes, ~1,852 keep-alives/s on the ping route (one message each, no Lambda), ~155 reconnects/s', () => {
    const standing = standingCost(1_000_000);

    expect(standing.keepAlivesPerSecond).toBeCloseTo(1_000_000 / 540, 6);
    expect(standing.reconnectsPerSecond).toBeCloseTo(1_000_000 / 6_450, 6);
    expect(standing.perHour.byPart.connectionMinutes).toBeCloseTo(15, 6);
    expect(standing.perHour.byPart.keepAlive).toBeCloseTo(6.667, 2);
    expect(standing.perHour.items.filter((item) => item.service === 'Lambda').map((item) => item.item)).toEqual([
      'reconnects: $connect + $disconnect requests',
      'reconnects: $connect + $disconnect compute',
    ]);
    expect(standing.perHour.total).toBeCloseTo(
      standing.perHour.items.reduce((sum, item) => sum + item.usd, 0),
      10,
    );
  });

  it('is part of every plan, beside the broadcast', () => {
    expect(plan().standing).toEqual(standingCost(1_000_000));
    expect(plan().connectionHourUsd).toBeCloseTo(15, 6);
  });
});

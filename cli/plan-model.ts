/**
 * What one broadcast will take, before it is sent: time to last delivery, @connections calls,
 * Lambda concurrency and the AWS bill, from the configuration, the account's quota and the
 * message size; and what keeping N sockets connected costs per hour (connection minutes,
 * keep-alives, reconnects). Pure arithmetic (no I/O) so it can be unit-tested and checked
 * against `bench:quota`. Every AWS number comes from functions/commons/aws-limits.ts; what the
 * code does (lease window, item names and sizes, batch sizes, the client's timings) is imported
 * from the code itself (CODE_FACTS); every other number is in PLAN_ASSUMPTIONS below, with where
 * it comes from. planFleet spreads the sockets over K cells (each its own account or Region, so
 * its own throttle) and cellsForTarget finds the K a target time needs.
 */
import { deliveryRatePerSecondFor, type SwarmcastConfig } from '../infra/config';
import { AWS_BILLING_UNITS, AWS_LIMITS, AWS_PRICES_USD } from '#commons/aws-limits';
import { DELIVERY_COUNT_SHARDS, ENQUEUED_GROUP_SIZE } from '#commons/broadcasts/items';
import { LEASE_MS } from '#commons/rate-budget';
import { broadcastsTable, connectionsTable, type KeyAttribute, type TableSchema } from '#commons/tables';
import { MAX_FLEET_CELLS } from '../client/fleet';
import { MEAN_KEEP_ALIVE_INTERVAL_MS, MEAN_RECYCLE_AFTER_MS } from '../client/protocol';
import { FLEET_POLL_SECONDS } from '../statemachines/fleet-contract';

/** The account's API Gateway throttle as a token bucket: calls/s and bucket size. */
export interface Quota {
  ratePerSecond: number;
  burst: number;
}

export const DEFAULT_QUOTA: Quota = {
  ratePerSecond: AWS_LIMITS.apiGatewayAccountRatePerSecond.value,
  burst: AWS_LIMITS.apiGatewayAccountBurst.value,
};

/** Where the broadcast runs: AWS, or the local stack on this machine (for checking the model against bench:quota). */
export type PlanSite = 'aws' | 'local';

interface Assumption {
  value: number;
  source: string;
}

interface SiteAssumptions {
  /** CPU one PostToConnection costs the consumer: signing, request and bookkeeping. */
  postCpuMs: Assumption;
  /** One @connections call, request to answer. */
  postRoundTripMs: Assumption;
  /** A Lambda Task state from the state machine, until the handler runs (cold start included). */
  taskStartMs: Assumption;
  /** A Distributed Map run, until its first children run. */
  mapStartMs: Assumption;
  /** One Query page's round trip, before its items are read. */
  queryPageMs: Assumption;
  /** Items one Query stream returns per second. */
  queryItemsPerSecondPerStream: Assumption;
  /** Items per second all Query streams together get (DynamoDB on AWS has no such shared cap worth modelling). */
  queryItemsPerSecondTotal: Assumption;
  /** DynamoDB requests per second all streams together get. */
  dynamoDbRequestsPerSecondTotal: Assumption;
  /** One SendMessageBatch call. */
  sqsSendBatchMs: Assumption;
  /** From a message on a shard queue to a consumer running it. */
  consumerPickupMs: Assumption;
  /** CPU cores the consumers share in total (AWS: one vCPU per 1,769 MB instance, so no shared cap). */
  consumerCores: Assumption;
  /** A fleet broadcast's coordinator: its start, starting every cell's broadcast, and noticing the last one's end. */
  coordinatorMs: Assumption;
}

const STACK = 'infra/swarmcast-stack.ts';
const GUESS = 'assumption, not measured';

/** Every number of the model that is not in the configuration or in aws-limits.ts. */
export const PLAN_ASSUMPTIONS = {
  aws: {
    postCpuMs: {
      value: 0.1,
      source: 'bench/post-throughput.ts: aws4 signing + undici pool, ~9,500 posts/s per core, ~0.1 ms of CPU per call',
    },
    postRoundTripMs: {
      value: 20,
      source: 'infra/config.ts: a PostToConnection round trip within a Region takes ~10–30 ms',
    },
    taskStartMs: { value: 500, source: `${GUESS}: Lambda invoke from Step Functions with a Node.js cold start` },
    mapStartMs: { value: 1_000, source: `${GUESS}: a Distributed Map run starting its first child executions` },
    queryPageMs: { value: 10, source: `${GUESS}: DynamoDB's single-digit-millisecond latency plus the network` },
    queryItemsPerSecondPerStream: {
      value: 250_000,
      source: `${GUESS}: a 1 MB page of ~55-byte index items in ~100 ms`,
    },
    queryItemsPerSecondTotal: {
      value: Number.POSITIVE_INFINITY,
      source: 'each partition is its own index key; AWS spreads them',
    },
    dynamoDbRequestsPerSecondTotal: {
      value: Number.POSITIVE_INFINITY,
      source: 'on-demand tables scale per partition key',
    },
    sqsSendBatchMs: { value: 20, source: `${GUESS}: one SendMessageBatch round trip in the Region` },
    consumerPickupMs: { value: 500, source: `${GUESS}: the event source's long poll plus a consumer cold start` },
    consumerCores: { value: Number.POSITIVE_INFINITY, source: 'each consumer instance has its own vCPU (1,769 MB)' },
    coordinatorMs: {
      value: 2_000,
      source: `${GUESS}: a Standard execution's start, a cross-account StartExecution per cell, and a .sync task noticing a cell's end`,
    },
  },
  local: {
    // Calibrated on bench:quota, not on the consumer's share alone: every local service shares the 2 cores.
    postCpuMs: {
      value: 0.41,
      source:
        'npm run bench:quota -- --connections 100000 --quota 100000/50000 --modes swarmcast, 2026-12-02 (quiet machine): a quota the machine cannot reach, ' +
        'so the pipeline sets the pace: ~4,900 deliveries/s end to end between 25 % and 75 % delivered (consumers, SQS, dynalite and the gateway on 2 cores) = 2 cores / 0.41 ms',
    },
    postRoundTripMs: { value: 2, source: `${GUESS}: loopback HTTP to the local gateway` },
    taskStartMs: { value: 50, source: `${GUESS}: an in-process handler call` },
    mapStartMs: { value: 100, source: `${GUESS}: the local runner starting its children` },
    queryPageMs: { value: 5, source: `${GUESS}: a dynalite Query round trip on loopback` },
    queryItemsPerSecondPerStream: {
      value: 35_000,
      source: 'measured on this machine: dynalite as a child server (local/dynamodb/) Queries ~35k items/s',
    },
    queryItemsPerSecondTotal: { value: 35_000, source: 'one dynalite process (local/dynamodb/) serves every Query' },
    dynamoDbRequestsPerSecondTotal: {
      value: 1_500,
      source: 'bench/README.md: dynalite answers ~1,300–1,800 requests/s',
    },
    sqsSendBatchMs: { value: 2, source: 'measured on this machine: local-aws-sqs (local/sqs/) sends ~12k messages/s' },
    consumerPickupMs: { value: 100, source: `${GUESS}: the local poller's short wait` },
    consumerCores: { value: 2, source: 'this machine has 2 cores, shared with the other local services' },
    coordinatorMs: { value: 200, source: `${GUESS}: the local runner starting a state machine and its cells'` },
  },
} as const satisfies Record<PlanSite, SiteAssumptions>;

/** Sizes and durations that do not depend on the site. */
export const SIZE_ASSUMPTIONS = {
  /** Memory of each function, as the stack deploys it. */
  postMessageMemoryMb: { value: 1_769, source: STACK },
  queryPartitionsMemoryMb: { value: 1_024, source: STACK },
  smallFunctionMemoryMb: { value: 256, source: `${STACK} (SwarmcastFunction default)` },
  postMessageTimeoutSeconds: { value: 60, source: STACK },
  /** Billed duration of Prepare and of one ReadProgress. */
  prepareMs: { value: 100, source: `${GUESS}: two PutItems (the message and the plan items)` },
  readProgressMs: { value: 50, source: `${GUESS}: one GetItem and one Query of the count items` },
  /** Billed duration of one $connect or $disconnect (one PutItem or DeleteItem). */
  routeMs: { value: 50, source: `${GUESS}: one DynamoDB write; infra/config.ts sizes the route reservation on ~50 ms` },
  /** An API Gateway connection id, e.g. "L0SM9cOFvHcCIhw=". */
  connectionIdBytes: {
    value: 16,
    source:
      'https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html ($context.connectionId)',
  },
  /** JSON around the ids of one delivery task. */
  deliveryTaskEnvelopeBytes: { value: 100, source: 'functions/commons/delivery-tasks.ts' },
  /** One count item of a broadcast (an enqueued group of 64 partitions, or a delivered-count shard) is under 1 KB: one write unit. */
  countItemBytes: {
    value: 1_024,
    source: 'functions/commons/broadcasts/items.ts (ENQUEUED_GROUP_SIZE: "stay far under 1 KB")',
  },
  /** Step Functions state transitions of one map child (its QueryPartitions task). */
  transitionsPerChild: { value: 1, source: 'statemachines/broadcast.asl.json' },
  /** The fleet coordinator's transitions besides its cells' (its start, its Map over the cells, its summary). */
  coordinatorTransitions: { value: 3, source: 'statemachines/fleet.asl.json' },
  /** ... and per cell: the Map's child execution, StartCell and CellResult. */
  coordinatorTransitionsPerCell: { value: 3, source: 'statemachines/fleet.asl.json' },
  /** ... and per cell and read of it (every FLEET_POLL_SECONDS.aws): WaitForCell, DescribeCell, CellEnded?. */
  coordinatorTransitionsPerPoll: { value: 3, source: 'statemachines/fleet.asl.json' },
} as const satisfies Record<string, Assumption>;

/** DynamoDB's size of a number attribute's value: ~1 byte per two significant digits, plus one. */
const numberBytes = (n: number): number => Math.ceil(String(Math.abs(Math.trunc(n))).length / 2) + 1;

/**
 * A row's size: every key attribute the schema names (its index keys too) with a 16-character
 * connection id for a string and a 4-digit partition for a number, and the expiry (a 10-digit epoch).
 */
function connectionRowBytes(schema: TableSchema): number {
  const keys = new Map<string, KeyAttribute['type']>();
  for (const key of [
    schema.partitionKey,
    schema.sortKey,
    ...schema.globalSecondaryIndexes.flatMap((index) => [index.partitionKey, index.sortKey]),
  ]) {
    if (key) keys.set(key.name, key.type);
  }
  let bytes = 0;
  for (const [name, type] of keys)
    bytes += name.length + (type === 'S' ? SIZE_ASSUMPTIONS.connectionIdBytes.value : numberBytes(9_999));
  if (schema.timeToLiveAttribute) bytes += schema.timeToLiveAttribute.length + numberBytes(2_000_000_000);
  return bytes;
}

/**
 * What the code does, read from the code: the plan follows it when it changes, and
 * test/unit/cli/plan-model.test.ts pins these values so the change is seen (the figures in docs/planning.md follow).
 */
export const CODE_FACTS = {
  /** rate-budget.ts: a lease covers at least this much of the budget's time; one conditional write per lease. */
  leaseMs: LEASE_MS,
  /** broadcasts/items.ts: partitions per enqueued-count item (one UpdateItem per group a map child reaches). */
  enqueuedGroupSize: ENQUEUED_GROUP_SIZE,
  /** broadcasts/items.ts: delivered-count items ReadProgress sums (one ADD per consumer invocation goes to one of them). */
  deliveryCountShards: DELIVERY_COUNT_SHARDS,
  /** One connection row, as the connections table's schema (tables.ts) names its attributes. */
  connectionRowBytes: connectionRowBytes(connectionsTable),
  /** Key attributes of a broadcast item, beside its payload: the broadcast id (~40 characters) and the item name. */
  broadcastItemKeyBytes:
    broadcastsTable.partitionKey.name.length + 40 + broadcastsTable.sortKey.name.length + 'message'.length,
  /** What each $connect and $disconnect writes (connections.ts, after the Partitions table goes): one PutItem, one DeleteItem. */
  connectWrites: 1,
  disconnectWrites: 1,
  /** client/protocol.ts: the client's mean keep-alive interval and mean connection lifetime. */
  meanKeepAliveIntervalMs: MEAN_KEEP_ALIVE_INTERVAL_MS,
  meanRecycleAfterMs: MEAN_RECYCLE_AFTER_MS,
} as const;

export interface PlanInput {
  connections: number;
  messageBytes: number;
  quota: Quota;
  config: SwarmcastConfig;
  site: PlanSite;
  /** When the broadcast must be done, if the operator has a wish. */
  deadlineSeconds?: number;
}

export interface CostItem {
  service: 'API Gateway' | 'Lambda' | 'SQS' | 'DynamoDB' | 'Step Functions';
  item: string;
  quantity: number;
  unit: string;
  /** USD per `per` units. */
  unitPriceUsd: number;
  per: number;
  usd: number;
}

export interface Plan {
  connections: number;
  messageBytes: number;
  quota: Quota;
  site: PlanSite;
  /** Calls per second the delivery runs at, and what decides it. */
  deliveryRatePerSecond: number;
  limitedBy: 'quota' | 'budget' | 'consumers' | 'fan-out';
  /** The account budget's rate (config.deliveryRatePerSecond, scaled to an emulated quota). */
  budgetPerSecond: number;
  /** What the configured consumers can post per second. */
  consumerCapacityPerSecond: number;
  /** From the start of the execution. */
  firstDeliveryMs: number;
  fanOutMs: number;
  durationMs: number;
  /** N / quota: no plan can beat it for long. */
  idealMs: number;
  calls: number;
  posts: number;
  throttledCalls: number;
  lambda: {
    /** Consumer instances the delivery rate needs (Little's law, or CPU, whichever is more). */
    neededConcurrency: number;
    /** Instances the shard queues' event sources hold while they have a backlog. */
    heldConcurrency: number;
    /** shards × consumerMaxConcurrency. */
    maxConcurrency: number;
    /** Every function at once at the peak: consumers at most + map children. */
    peakAccountConcurrency: number;
  };
  deliveryTasks: number;
  costUsd: { total: number; items: CostItem[]; byService: Record<CostItem['service'], number> };
  /** The operator's wish, if given: met, or why not and what would help. */
  deadline?: { seconds: number; met: boolean; advice?: string };
  /** Keeping N sockets connected for an hour: not part of a broadcast's cost. */
  connectionHourUsd: number;
  /** What N connected sockets cost per hour with clients following client/protocol.ts, beside the broadcast's. */
  standing: StandingCost;
  /** Things the operator should know: the budget exceeds the quota, the account's Lambda concurrency is short. */
  warnings: string[];
}

/** Keeping N sockets connected, per hour: connection minutes, keep-alives and planned reconnects. */
export interface StandingCost {
  /** Keep-alive messages per second on the stage's route throttle and the account's (the ping route: API Gateway answers, no Lambda). */
  keepAlivesPerSecond: number;
  /** Planned reconnects per second (each a $connect and a $disconnect) when sockets live the client's mean lifetime. */
  reconnectsPerSecond: number;
  perHour: {
    total: number;
    items: CostItem[];
    byPart: { connectionMinutes: number; keepAlive: number; reconnect: number };
  };
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
const fmt = (n: number): string => Math.ceil(n).toLocaleString('en-US');

/**
 * The budget the delivery shares. The configured rate is a share of AWS's default quota; against
 * another quota (a raised one, or an emulated local one) the same share applies, as bench:quota
 * sets it — unless the operator set deliveryRatePerSecond explicitly.
 */
export function budgetFor(config: SwarmcastConfig, quota: Quota, explicitRate: boolean): number {
  return explicitRate ? config.deliveryRatePerSecond : deliveryRatePerSecondFor(quota.ratePerSecond);
}

export function planBroadcast(input: PlanInput, budgetPerSecond = budgetFor(input.config, input.quota, false)): Plan {
  const { connections: n, messageBytes, quota, config, site } = input;
  const assumed = PLAN_ASSUMPTIONS[site];
  const warnings: string[] = [];

  // Fan-out: Prepare, then the Distributed Map runs ceil(partitions / partitionsPerChild) children,
  // mapMaxConcurrency at a time; a child queries all its partitions, then enqueues their tasks.
  const rowsPerPartition = ceilDiv(n, config.partitions);
  const children = ceilDiv(config.partitions, config.partitionsPerChild);
  const childrenAtOnce = Math.min(children, config.mapMaxConcurrency);
  const waves = ceilDiv(children, childrenAtOnce);
  const streams = childrenAtOnce * Math.min(config.queryConcurrency, config.partitionsPerChild);
  const itemsPerSecondPerStream = Math.min(
    assumed.queryItemsPerSecondPerStream.value,
    assumed.queryItemsPerSecondTotal.value / streams,
  );
  const pagesPerPartition = Math.max(1, ceilDiv(rowsPerPartition * CODE_FACTS.connectionRowBytes, 1024 * 1024));
  const pageMs = Math.max(assumed.queryPageMs.value, (streams / assumed.dynamoDbRequestsPerSecondTotal.value) * 1000);
  const queryMsPerPartition = pagesPerPartition * pageMs + (rowsPerPartition / itemsPerSecondPerStream) * 1000;
  const queryMsPerChild = ceilDiv(config.partitionsPerChild, config.queryConcurrency) * queryMsPerPartition;
  const tasksPerPartition = Math.max(1, ceilDiv(rowsPerPartition, config.connectionIdsPerMessage));
  const deliveryTasks = tasksPerPartition * config.partitions;
  // Sends go to every shard at once, batch after batch within one shard.
  const sendMsPerChild =
    ceilDiv(ceilDiv(tasksPerPartition * config.partitionsPerChild, config.shards), AWS_LIMITS.sqsBatchEntries.value) *
    assumed.sqsSendBatchMs.value;
  const childMs = assumed.taskStartMs.value + queryMsPerChild + sendMsPerChild;
  const mapStartedMs = assumed.taskStartMs.value + assumed.mapStartMs.value;
  const firstEnqueueMs = mapStartedMs + childMs;
  const fanOutMs = mapStartedMs + waves * childMs;
  // With one wave every id is on a queue after one child's time; more waves feed the queues at this rate.
  const fanOutPerSecond = waves > 1 ? (n / (waves * childMs)) * 1000 : Number.POSITIVE_INFINITY;

  // Delivery: at the least of the quota, the budget, the consumers and the fan-out's supply.
  const perInstancePerSecond = Math.min(
    (config.postConcurrency / (assumed.postCpuMs.value + assumed.postRoundTripMs.value)) * 1000,
    (SIZE_ASSUMPTIONS.postMessageMemoryMb.value / AWS_LIMITS.lambdaMemoryMbPerVcpu.value / assumed.postCpuMs.value) *
      1000,
  );
  const maxConcurrency = config.shards * config.consumerMaxConcurrency;
  const consumerCapacityPerSecond = Math.min(
    maxConcurrency * perInstancePerSecond,
    (assumed.consumerCores.value / assumed.postCpuMs.value) * 1000,
  );
  const attemptPerSecond = Math.min(budgetPerSecond, consumerCapacityPerSecond);
  const candidates = [
    { limitedBy: 'quota', rate: quota.ratePerSecond },
    { limitedBy: 'budget', rate: budgetPerSecond },
    { limitedBy: 'consumers', rate: consumerCapacityPerSecond },
    { limitedBy: 'fan-out', rate: fanOutPerSecond },
  ] as const;
  const { limitedBy, rate } = candidates.reduce((low, next) => (next.rate < low.rate ? next : low));
  // The bucket fills during the start-up; only consumers trying faster than the quota can spend it.
  const burstCalls = attemptPerSecond > quota.ratePerSecond ? Math.min(quota.burst, n) : 0;
  const firstDeliveryMs = firstEnqueueMs + assumed.consumerPickupMs.value;
  const deliveringMs = ((n - burstCalls) / rate) * 1000;
  // With several waves of children, the last wave's ids cannot be delivered before they are on a queue.
  const lastWaveMs = waves > 1 ? fanOutMs + assumed.consumerPickupMs.value + (n / waves / rate) * 1000 : 0;
  const durationMs = Math.max(firstDeliveryMs + deliveringMs, lastWaveMs);
  const deliverySeconds = (durationMs - firstDeliveryMs) / 1000;

  // Calls: one post per socket; consumers trying faster than the quota earn a 429 per excess call
  // (no 429-adaptive slowing assumed: an upper bound).
  const throttledCalls =
    attemptPerSecond > quota.ratePerSecond
      ? Math.round(((attemptPerSecond - quota.ratePerSecond) * Math.max(0, n - burstCalls)) / quota.ratePerSecond)
      : 0;
  const calls = n + throttledCalls;

  const neededConcurrency = Math.ceil(rate / perInstancePerSecond);
  const initialPerShard = Math.min(AWS_LIMITS.lambdaSqsInitialConcurrency.value, config.consumerMaxConcurrency);
  const heldConcurrency = Math.min(maxConcurrency, Math.max(neededConcurrency, config.shards * initialPerShard));
  const peakAccountConcurrency = maxConcurrency + childrenAtOnce;
  // The budget shares the rate among the instances held, so each one's batch goes at its share.
  const postsPerInvocation = config.consumerBatchSize * Math.min(rowsPerPartition, config.connectionIdsPerMessage);
  const invocationSeconds = postsPerInvocation / (rate / heldConcurrency);

  const polls = Math.max(1, Math.ceil(Math.max(0, durationMs - fanOutMs) / 1000 / config.progressPollSeconds));
  const items = costItems({
    n,
    messageBytes,
    config,
    deliveryTasks,
    children,
    childMs,
    heldConcurrency,
    deliverySeconds,
    polls,
    rowsPerPartition,
  });
  const byService = { 'API Gateway': 0, Lambda: 0, SQS: 0, DynamoDB: 0, 'Step Functions': 0 };
  for (const item of items) byService[item.service] += item.usd;
  const total = items.reduce((sum, item) => sum + item.usd, 0);

  const idealMs = (n / quota.ratePerSecond) * 1000;
  const standing = standingCost(n);
  if (standing.keepAlivesPerSecond > config.routeThrottleRatePerSecond) {
    warnings.push(
      `${fmt(n)} clients send ~${fmt(standing.keepAlivesPerSecond)} keep-alives/s, over the stage's route throttle (routeThrottleRatePerSecond ${fmt(config.routeThrottleRatePerSecond)}/s): raise it, or clients' pings are refused`,
    );
  }
  const standingCalls = standing.keepAlivesPerSecond + standing.reconnectsPerSecond;
  if (budgetPerSecond + standingCalls > quota.ratePerSecond) {
    warnings.push(
      `keep-alives and reconnects (~${fmt(standingCalls)}/s) plus the delivery budget (${fmt(budgetPerSecond)}/s) exceed the account's ${fmt(quota.ratePerSecond)}/s: during a broadcast some calls will be answered 429; lower deliveryRatePerSecond or raise the quota`,
    );
  }
  if (budgetPerSecond > quota.ratePerSecond) {
    warnings.push(
      `the delivery budget (${fmt(budgetPerSecond)}/s) is above the quota (${fmt(quota.ratePerSecond)}/s): ~${fmt(throttledCalls)} calls will be answered 429; set deliveryRatePerSecond below the quota`,
    );
  }
  if (invocationSeconds > SIZE_ASSUMPTIONS.postMessageTimeoutSeconds.value) {
    warnings.push(
      `one consumer invocation (${fmt(postsPerInvocation)} posts at ~${fmt(rate / heldConcurrency)}/s, its share of the rate) takes ~${fmt(invocationSeconds)} s, over post-message's ${SIZE_ASSUMPTIONS.postMessageTimeoutSeconds.value} s timeout: its batch would be received again; lower consumerBatchSize, connectionIdsPerMessage or consumerMaxConcurrency`,
    );
  }
  if (peakAccountConcurrency > AWS_LIMITS.lambdaAccountConcurrency.value) {
    warnings.push(
      `up to ${fmt(peakAccountConcurrency)} Lambda instances at once (consumers ${fmt(maxConcurrency)} + map children ${fmt(childrenAtOnce)}) exceed the account's default ${fmt(AWS_LIMITS.lambdaAccountConcurrency.value)}: ask for more, or lower consumerMaxConcurrency`,
    );
  }
  const deadline =
    input.deadlineSeconds === undefined
      ? undefined
      : durationMs <= input.deadlineSeconds * 1000
        ? { seconds: input.deadlineSeconds, met: true }
        : {
            seconds: input.deadlineSeconds,
            met: false,
            advice: deadlineAdvice({
              n,
              deadlineSeconds: input.deadlineSeconds,
              quota,
              budgetPerSecond,
              firstDeliveryMs,
              limitedBy,
              rate,
            }),
          };

  return {
    connections: n,
    messageBytes,
    quota,
    site,
    deliveryRatePerSecond: rate,
    limitedBy,
    budgetPerSecond,
    consumerCapacityPerSecond,
    firstDeliveryMs,
    fanOutMs,
    durationMs,
    idealMs,
    calls,
    posts: n,
    throttledCalls,
    lambda: { neededConcurrency, heldConcurrency, maxConcurrency, peakAccountConcurrency },
    deliveryTasks,
    costUsd: { total, items, byService },
    deadline,
    connectionHourUsd: standing.perHour.byPart.connectionMinutes,
    standing,
    warnings,
  };
}

/** What would make the deadline: the quota it needs, in accounts of the current quota. */
function deadlineAdvice(p: {
  n: number;
  deadlineSeconds: number;
  quota: Quota;
  budgetPerSecond: number;
  firstDeliveryMs: number;
  limitedBy: Plan['limitedBy'];
  rate: number;
}): string {
  const head = `${fmt(p.n)} sockets cannot be reached in ${p.deadlineSeconds.toLocaleString('en-US')} s`;
  const deliverySeconds = p.deadlineSeconds - p.firstDeliveryMs / 1000;
  if (deliverySeconds <= 0)
    return `${head}: the start-up alone takes ${(p.firstDeliveryMs / 1000).toFixed(1)} s before the first delivery`;
  if (p.limitedBy === 'consumers' || p.limitedBy === 'fan-out') {
    return `${head}: the ${p.limitedBy} deliver at most ${fmt(p.rate)}/s; raise ${p.limitedBy === 'consumers' ? 'shards, consumerMaxConcurrency or postConcurrency' : 'mapMaxConcurrency or queryConcurrency'} (--set)`;
  }
  const floor = p.n / p.deadlineSeconds;
  // The budget keeps its share of any quota; the start-up eats into the deadline.
  const share = Math.min(1, p.budgetPerSecond / p.quota.ratePerSecond);
  const neededQuota = p.n / deliverySeconds / share;
  const accounts = Math.ceil(neededQuota / p.quota.ratePerSecond);
  return `${head} at ${fmt(p.quota.ratePerSecond)} calls/s: needs ≥ ${fmt(floor)}/s (${fmt(neededQuota)}/s with the start-up and the budget's ${Math.round(share * 100)} % share); ask for a quota increase or split over ${accounts} accounts`;
}

function costItems(p: {
  n: number;
  messageBytes: number;
  config: SwarmcastConfig;
  deliveryTasks: number;
  children: number;
  childMs: number;
  heldConcurrency: number;
  deliverySeconds: number;
  polls: number;
  rowsPerPartition: number;
}): CostItem[] {
  const { n, config } = p;
  const price = AWS_PRICES_USD;
  const item = (
    service: CostItem['service'],
    name: string,
    quantity: number,
    unit: string,
    unitPriceUsd: number,
    per: number,
  ): CostItem => ({
    service,
    item: name,
    quantity,
    unit,
    unitPriceUsd,
    per,
    usd: (quantity * unitPriceUsd) / per,
  });
  const gb = (mb: number): number => mb / 1024;

  // API Gateway: one message per post, metered in 32 KB increments.
  const meteredPerPost = Math.max(1, ceilDiv(p.messageBytes, AWS_BILLING_UNITS.apiGatewayMessageBytes.value));

  // Lambda: consumers are billed for the wall time they hold (paced by the budget), not just their CPU.
  const consumerInvocations = ceilDiv(p.deliveryTasks, config.consumerBatchSize);
  const consumerGbSeconds = p.heldConcurrency * p.deliverySeconds * gb(SIZE_ASSUMPTIONS.postMessageMemoryMb.value);
  const childGbSeconds = (p.children * p.childMs * gb(SIZE_ASSUMPTIONS.queryPartitionsMemoryMb.value)) / 1000;
  const smallGbSeconds =
    ((SIZE_ASSUMPTIONS.prepareMs.value + p.polls * SIZE_ASSUMPTIONS.readProgressMs.value) *
      gb(SIZE_ASSUMPTIONS.smallFunctionMemoryMb.value)) /
    1000;
  const invocations = consumerInvocations + p.children + 1 + p.polls;

  // SQS: tasks go out 10 to a SendMessageBatch and come in 10 to a batch; each 64 KB of a call's payload is one request.
  const taskBytes =
    SIZE_ASSUMPTIONS.deliveryTaskEnvelopeBytes.value +
    Math.min(p.rowsPerPartition, config.connectionIdsPerMessage) * (SIZE_ASSUMPTIONS.connectionIdBytes.value + 3);
  const chunksPer = (entries: number): number =>
    Math.max(1, ceilDiv(entries * taskBytes, AWS_BILLING_UNITS.sqsRequestChunkBytes.value));
  const sendBatches = ceilDiv(p.deliveryTasks, AWS_LIMITS.sqsBatchEntries.value);
  // The event source receives up to 10 messages per ReceiveMessage and deletes them in one DeleteMessageBatch.
  const receives = consumerInvocations * ceilDiv(config.consumerBatchSize, AWS_LIMITS.sqsBatchEntries.value);
  const sqsRequests =
    sendBatches * chunksPer(AWS_LIMITS.sqsBatchEntries.value) +
    receives * (chunksPer(Math.min(config.consumerBatchSize, AWS_LIMITS.sqsBatchEntries.value)) + 1);

  // DynamoDB, what each function writes and reads (broadcasts/, partition-fan-out.ts, delivery.ts, rate-budget.ts):
  // Prepare puts the message item and the plan item; each map child reads and then sets the
  // enqueued-count groups its partitions fall in and Queries each partition (the base table,
  // strongly consistent); each consumer invocation reads its tasks' done marks, claims each
  // partition once, marks each task done and ADDs its counts to one count shard; the budget costs
  // one conditional write per lease of at least LEASE_MS; each progress poll reads the plan and
  // Queries the count items; each consumer instance reads the message item once.
  const writeUnit = AWS_BILLING_UNITS.dynamoDbWriteUnitBytes.value;
  const readUnit = AWS_BILLING_UNITS.dynamoDbReadUnitBytes.value;
  const messageItemBytes = CODE_FACTS.broadcastItemKeyBytes + p.messageBytes;
  const groupsReached = enqueuedGroupsReached(config.partitions, config.partitionsPerChild);
  const leaseWrites = Math.ceil((p.deliverySeconds * 1000) / CODE_FACTS.leaseMs);
  const writeUnits =
    ceilDiv(messageItemBytes, writeUnit) +
    1 +
    groupsReached +
    config.partitions +
    p.deliveryTasks +
    consumerInvocations +
    leaseWrites;
  const queryUnits =
    config.partitions * Math.max(1, ceilDiv(p.rowsPerPartition * CODE_FACTS.connectionRowBytes, readUnit));
  const countItems = ceilDiv(config.partitions, CODE_FACTS.enqueuedGroupSize) + CODE_FACTS.deliveryCountShards;
  const progressUnits = 1 + ceilDiv(countItems * SIZE_ASSUMPTIONS.countItemBytes.value, readUnit);
  const readUnits =
    queryUnits +
    groupsReached +
    consumerInvocations * config.consumerBatchSize +
    p.heldConcurrency * ceilDiv(messageItemBytes, readUnit) +
    p.polls * progressUnits;

  // Step Functions: Prepare, FanOut, each child's task, three states per progress poll, Summary.
  const transitions = 2 + p.children * SIZE_ASSUMPTIONS.transitionsPerChild.value + 3 * p.polls + 1;

  return [
    item(
      'API Gateway',
      `messages, ${meteredPerPost} × 32 KB per post`,
      n * meteredPerPost,
      'messages',
      price.apiGatewayMessagesPerMillion.value,
      1e6,
    ),
    item(
      'Lambda',
      'compute',
      consumerGbSeconds + childGbSeconds + smallGbSeconds,
      'GB-s',
      price.lambdaArmGbSecond.value,
      1,
    ),
    item('Lambda', 'requests', invocations, 'invocations', price.lambdaRequestsPerMillion.value, 1e6),
    item('SQS', 'requests, per 64 KB', sqsRequests, 'requests', price.sqsRequestsPerMillion.value, 1e6),
    item('DynamoDB', 'write units', writeUnits, 'WRU', price.dynamoDbWriteUnitsPerMillion.value, 1e6),
    item('DynamoDB', 'read units', readUnits, 'RRU', price.dynamoDbReadUnitsPerMillion.value, 1e6),
    item(
      'Step Functions',
      'state transitions',
      transitions,
      'transitions',
      price.stepFunctionsTransitionsPerThousand.value,
      1e3,
    ),
  ];
}

/** The enqueued-count items (ENQUEUED_GROUP_SIZE partitions each) the map children write: a child's partitions may straddle two. */
function enqueuedGroupsReached(partitions: number, partitionsPerChild: number): number {
  let groups = 0;
  for (let first = 0; first < partitions; first += partitionsPerChild) {
    const last = Math.min(partitions, first + partitionsPerChild) - 1;
    groups += Math.floor(last / CODE_FACTS.enqueuedGroupSize) - Math.floor(first / CODE_FACTS.enqueuedGroupSize) + 1;
  }
  return groups;
}

/**
 * Keeping N sockets connected for an hour, with clients that follow client/protocol.ts: the
 * connection minutes; a keep-alive per socket every mean interval, on the ping route (one
 * message, no Lambda, no reply); a planned reconnect per socket every mean lifetime (a $connect
 * and a $disconnect: two invocations and two DynamoDB writes; API Gateway bills connection
 * minutes and messages, not the handshake).
 */
export function standingCost(n: number): StandingCost {
  const price = AWS_PRICES_USD;
  const hour = 3_600_000;
  const keepAlives = (n * hour) / CODE_FACTS.meanKeepAliveIntervalMs;
  const reconnects = (n * hour) / CODE_FACTS.meanRecycleAfterMs;
  const routeGbSeconds =
    (2 * reconnects * SIZE_ASSUMPTIONS.routeMs.value * (SIZE_ASSUMPTIONS.smallFunctionMemoryMb.value / 1024)) / 1000;
  const cost = (
    service: CostItem['service'],
    name: string,
    quantity: number,
    unit: string,
    unitPriceUsd: number,
    per: number,
  ): CostItem => ({
    service,
    item: name,
    quantity,
    unit,
    unitPriceUsd,
    per,
    usd: (quantity * unitPriceUsd) / per,
  });
  const connectionMinutes = cost(
    'API Gateway',
    'connection minutes',
    n * 60,
    'minutes',
    price.apiGatewayConnectionMinutesPerMillion.value,
    1e6,
  );
  const keepAlive = cost(
    'API Gateway',
    'keep-alive messages (ping route, no Lambda)',
    keepAlives,
    'messages',
    price.apiGatewayMessagesPerMillion.value,
    1e6,
  );
  const reconnect = [
    cost(
      'Lambda',
      'reconnects: $connect + $disconnect requests',
      2 * reconnects,
      'invocations',
      price.lambdaRequestsPerMillion.value,
      1e6,
    ),
    cost(
      'Lambda',
      'reconnects: $connect + $disconnect compute',
      routeGbSeconds,
      'GB-s',
      price.lambdaArmGbSecond.value,
      1,
    ),
    cost(
      'DynamoDB',
      'reconnects: one PutItem + one DeleteItem',
      reconnects * (CODE_FACTS.connectWrites + CODE_FACTS.disconnectWrites),
      'WRU',
      price.dynamoDbWriteUnitsPerMillion.value,
      1e6,
    ),
  ];
  const items = [connectionMinutes, keepAlive, ...reconnect];
  return {
    keepAlivesPerSecond: keepAlives / 3_600,
    reconnectsPerSecond: reconnects / 3_600,
    perHour: {
      total: items.reduce((sum, item) => sum + item.usd, 0),
      items,
      byPart: {
        connectionMinutes: connectionMinutes.usd,
        keepAlive: keepAlive.usd,
        reconnect: reconnect.reduce((sum, item) => sum + item.usd, 0),
      },
    },
  };
}

/** A fleet of at most this many cells: what the fleet file allows (client/fleet.ts MAX_FLEET_CELLS). */
export const MAX_PLAN_CELLS = MAX_FLEET_CELLS;

/** A fleet that cannot be planned: the message says what was wrong and what is allowed. */
export class FleetPlanError extends Error {
  override name = 'FleetPlanError';
}

export interface FleetPlanInput extends Omit<PlanInput, 'deadlineSeconds'> {
  /** Cells the sockets are spread over evenly; each has `quota` to itself (its own account or Region). */
  cells: number;
}

/** One broadcast over K cells: each cell broadcasts to its share at its own quota, side by side, started by the coordinator. */
export interface FleetPlan {
  cells: number;
  connections: number;
  messageBytes: number;
  site: PlanSite;
  /** Every cell's own throttle. */
  quotaPerCell: Quota;
  /** The largest cell's sockets: spread evenly, the cells differ by one socket at most. */
  connectionsPerCell: number;
  /** The largest cell's broadcast: the fleet takes as long as it, after the coordinator's part. */
  cell: Plan;
  coordinatorMs: number;
  durationMs: number;
  /** N / (K × quota): no fleet of K cells beats it for long. */
  idealMs: number;
  /** New connections per second the fleet accepts: K × the per-account quota. */
  connectRatePerSecond: number;
  /** Every socket connecting at that rate (a cold start, or all reconnecting at once). */
  connectMs: number;
  /** Every cell's broadcast and the coordinator's transitions, item by item. */
  costUsd: Plan['costUsd'];
  /** Keeping N sockets connected: the same whatever the cells (billed per socket and message). */
  standing: StandingCost;
  /** The largest cell's warnings: each cell has them. */
  warnings: string[];
}

/** What K cells with N sockets between them take, each at `quota`; throws FleetPlanError on a K out of bounds or above N. */
export function planFleet(
  input: FleetPlanInput,
  budgetPerSecond = budgetFor(input.config, input.quota, false),
): FleetPlan {
  const { cells: k, connections: n, site } = input;
  if (!Number.isInteger(k) || k < 1 || k > MAX_PLAN_CELLS)
    throw new FleetPlanError(
      `cells must be a whole number from 1 to ${MAX_PLAN_CELLS} (the most one coordinator starts at once), got ${k}`,
    );
  if (k > n)
    throw new FleetPlanError(
      `${fmt(k)} cells for ${fmt(n)} sockets: every cell needs one at least; give at most ${fmt(n)} cells`,
    );

  const smaller = Math.floor(n / k);
  const larger = n % k;
  const planFor = (connections: number) => planBroadcast({ ...input, connections }, budgetPerSecond);
  const cell = planFor(smaller + (larger > 0 ? 1 : 0));
  const sizes =
    larger > 0
      ? [
          { plan: cell, count: larger },
          { plan: planFor(smaller), count: k - larger },
        ]
      : [{ plan: cell, count: k }];
  // costItems lists the same items in the same order for every plan: add them up item by item.
  const items: CostItem[] = cell.costUsd.items.map((item, i) => {
    const quantity = sizes.reduce((sum, size) => sum + size.plan.costUsd.items[i].quantity * size.count, 0);
    return { ...item, quantity, usd: (quantity * item.unitPriceUsd) / item.per };
  });
  // Each cell's iteration polls its execution until it ends; the smaller cells end a little sooner, counted as the largest.
  const polls = Math.max(1, Math.ceil(cell.durationMs / 1000 / FLEET_POLL_SECONDS.aws));
  const coordinatorTransitions =
    SIZE_ASSUMPTIONS.coordinatorTransitions.value +
    k *
      (SIZE_ASSUMPTIONS.coordinatorTransitionsPerCell.value +
        polls * SIZE_ASSUMPTIONS.coordinatorTransitionsPerPoll.value);
  const transitionPrice = AWS_PRICES_USD.stepFunctionsTransitionsPerThousand.value;
  items.push({
    service: 'Step Functions',
    item: 'coordinator state transitions',
    quantity: coordinatorTransitions,
    unit: 'transitions',
    unitPriceUsd: transitionPrice,
    per: 1e3,
    usd: (coordinatorTransitions * transitionPrice) / 1e3,
  });
  const byService = { 'API Gateway': 0, Lambda: 0, SQS: 0, DynamoDB: 0, 'Step Functions': 0 };
  for (const item of items) byService[item.service] += item.usd;

  const coordinatorMs = PLAN_ASSUMPTIONS[site].coordinatorMs.value;
  const connectRatePerSecond = k * AWS_LIMITS.webSocketNewConnectionsPerSecond.value;
  return {
    cells: k,
    connections: n,
    messageBytes: input.messageBytes,
    site,
    quotaPerCell: input.quota,
    connectionsPerCell: cell.connections,
    cell,
    coordinatorMs,
    durationMs: coordinatorMs + cell.durationMs,
    idealMs: (n / (k * input.quota.ratePerSecond)) * 1000,
    connectRatePerSecond,
    connectMs: (n / connectRatePerSecond) * 1000,
    costUsd: { total: items.reduce((sum, item) => sum + item.usd, 0), items, byService },
    standing: standingCost(n),
    warnings: cell.warnings,
  };
}

/** The fewest cells whose fleet broadcast ends within the target, or why no fleet does. */
export type FleetForTarget =
  | { targetSeconds: number; met: true; plan: FleetPlan }
  | { targetSeconds: number; met: false; plan: FleetPlan; advice: string };

/** The inverse of planFleet: the smallest K (up to MAX_PLAN_CELLS, and N) whose broadcast takes at most `targetSeconds`. */
export function cellsForTarget(
  input: Omit<FleetPlanInput, 'cells'>,
  targetSeconds: number,
  budgetPerSecond = budgetFor(input.config, input.quota, false),
): FleetForTarget {
  const most = Math.min(MAX_PLAN_CELLS, input.connections);
  let plan = planFleet({ ...input, cells: 1 }, budgetPerSecond);
  for (let k = 2; plan.durationMs > targetSeconds * 1000 && k <= most; k++)
    plan = planFleet({ ...input, cells: k }, budgetPerSecond);
  if (plan.durationMs <= targetSeconds * 1000) return { targetSeconds, met: true, plan };
  const startUpMs = plan.coordinatorMs + plan.cell.firstDeliveryMs;
  const head = `${fmt(input.connections)} sockets cannot be reached in ${targetSeconds.toLocaleString('en-US')} s by any fleet`;
  const advice =
    startUpMs >= targetSeconds * 1000
      ? `${head}: the start-up alone (the coordinator, then a cell's first delivery) takes ${(startUpMs / 1000).toFixed(1)} s`
      : `${head}: ${fmt(most)} cells (the most a fleet has) take ${(plan.durationMs / 1000).toFixed(1)} s; raise each cell's quota (--quota) or its delivery (--set)`;
  return { targetSeconds, met: false, plan, advice };
}

/**
 * The stack's configuration: its defaults, their bounds, and resolveConfig, which checks overrides.
 * Defaults suit a production broadcast to ~1M sockets; override any of them from cdk.json context
 * (`"swarmcast": { "shards": 20 }`) or construct props. The local stack starts from the same defaults.
 */
import { AWS_LIMITS, defaultAccountQuota } from '#commons/aws-limits';
import { DELIVERY_GRACE_SECONDS } from '#commons/constants';
import { type NumericSetting, SETTINGS, type SettingDefinition, type SettingName } from '#commons/settings';

/** Every number swarmcast runs with. */
export interface SwarmcastConfig {
  /** Connections are spread over this many partitions. */
  partitions: number;
  /** A channel's members are spread over this many partitions (docs/channels.md: 10 keys take a channel's 10,000 subscribes/s). */
  channelPartitions: number;
  /** Channels one connection may be in at once. */
  maxChannelsPerConnection: number;
  /** Number of SQS shard queues, each with its own PostMessage consumer. */
  shards: number;
  /** Distributed Map: child executions running at once. */
  mapMaxConcurrency: number;
  /** Distributed Map ItemBatcher: partitions handled by one child execution. */
  partitionsPerChild: number;
  /** Distributed Map: failed children tolerated, in percent, before the broadcast fails. */
  toleratedFailurePercentage: number;
  /** Connection ids packed into one SQS message (also bounded by the 1 MiB message limit). */
  connectionIdsPerMessage: number;
  /** SQS event source: messages per consumer invocation. */
  consumerBatchSize: number;
  /** SQS event source: batching window in seconds (0 = deliver as soon as messages arrive). */
  consumerBatchingWindowSeconds: number;
  /**
   * SQS event source MaximumConcurrency, per shard queue (2–1,000). Follows from the budget
   * unless set: see consumerMaxConcurrencyFor.
   */
  consumerMaxConcurrency: number;
  /** Partitions one map child queries at once. */
  queryConcurrency: number;
  /**
   * PostToConnection calls in flight per consumer invocation (shared by the records of its
   * batch). Follows from the budget unless set: see postConcurrencyFor.
   */
  postConcurrency: number;
  /** Extra tries, within one invocation, of a socket that answered 5xx or not at all, before it is re-queued. */
  postRetriesPerInvocation: number;
  /** Attempts per socket (5xx, no answer) before it is counted as failed; a 429 is never an attempt. */
  maxDeliveryAttempts: number;
  /** Receives of one SQS message before it goes to the shard's DLQ. */
  maxReceiveCount: number;
  /** Connection row expiry: API Gateway closes every WebSocket after 2 hours. */
  connectionTtlSeconds: number;
  /** Seconds between progress reads while awaiting delivery. */
  progressPollSeconds: number;
  /**
   * The delivery deadline: sockets not delivered this long after the last partition was enqueued
   * (or the start) count as failed (`deadline`; after 429s `slowReader` for a full socket, `throttled` for the account's throttle); replay re-sends to them.
   */
  deliveryTimeoutSeconds: number;
  /** EventBridge schedule expression for the stale-connection sweep. */
  sweepSchedule: string;
  /** WebSocket API stage name. */
  stageName: string;

  // The account's API Gateway throttle, shared by every @connections call, every $connect and
  // client message, and every other API of the account in this Region.
  /**
   * The account's throttle in this Region, calls per second: AWS's default is 10,000, or 2,500 in
   * 13 Regions (aws-limits.ts, API_GATEWAY_LOW_QUOTA_REGIONS); a raised quota is what Service
   * Quotas shows (L-8A5B8E43).
   */
  accountQuotaRatePerSecond: number;
  /** Its burst (token bucket size): 5,000 by default, 1,250 in those 13 Regions. */
  accountQuotaBurst: number;
  /**
   * @connections calls per second that every consumer of every shard shares, whatever their
   * number. 90 % of accountQuotaRatePerSecond unless set (9,000 at the default quota).
   */
  deliveryRatePerSecond: number;
  /**
   * The name of another swarmcast stack's rate budget table in this account and Region (its
   * RateBudgetTableName output): this stack then draws on that budget instead of creating its own,
   * so the stacks of one account together stay within the one account throttle. Give every stack
   * that shares it the same deliveryRatePerSecond. Unset: a budget of this stack's own.
   */
  sharedRateBudgetTable?: string;

  // Who may connect, and what keeps the WebSocket routes answering while a broadcast runs.
  /**
   * A Lambda REQUEST authorizer for $connect: a handler file of the deployer's (path from the
   * repository root, exporting `handler`). Unset: anyone who knows the URL can connect.
   */
  connectAuthorizer?: string;
  /**
   * Reserved concurrency of $connect and of $disconnect each (and of the authorizer): consumers
   * and map children can use up the account's Lambda concurrency, and a route without a
   * reservation would then be throttled. 0: none, so a new account (whose Lambda concurrency may
   * be far below 1,000) deploys; 50 needs an account concurrency of at least 100 + 50 per route.
   */
  routeReservedConcurrency: number;
  /**
   * Stage access logs (JSON, one line per request, kept a month). Off by default: API Gateway
   * writes them only with the account's API Gateway CloudWatch role set (docs/configuration.md, "Settings that depend on the account").
   */
  accessLogs: boolean;
  /** WebSocket stage default route throttling: steady messages per second and burst, over all clients. */
  routeThrottleRatePerSecond: number;
  routeThrottleBurst: number;

  // The operations dashboard's alarms (infra/constructs/operations-dashboard.ts).
  /** Minutes a failed or timed-out broadcast, or a message on a DLQ, is looked for in one alarm period. */
  alarmPeriodMinutes: number;
  /**
   * The throttling alarm: 429 answers above this percent of all @connections answers, in
   * `throttlingAlarmPeriods` consecutive alarm periods. A few 429s are backpressure the budget
   * absorbs; a lasting share means the account quota is shared or `deliveryRatePerSecond` is set above it.
   */
  throttlingAlarmPercentage: number;
  throttlingAlarmPeriods: number;
  // What counts as a delivered broadcast: the operator's call, not the code's.
  /**
   * Sockets that may end failed (throttled past the deadline, rejected, 5xx past the attempts), in
   * percent of those enqueued, before the execution ends FAILED with DeliveryIncomplete. Within it
   * the execution succeeds and its summary still counts them; `swarmcast replay` re-sends to them.
   */
  toleratedFailedSocketsPercentage: number;

  // What a client receives.
  /**
   * Frames every broadcast as {"broadcastId": "...", "message": "..."} instead of the bare
   * message, so a client can drop a repeat (delivery is at least once where a consumer dies
   * mid-batch: docs/reliability.md, "Where delivery is still at least once"). The frame counts against the 128 KB.
   */
  broadcastIdEnvelope: boolean;

  // The local stack only (`swarmcast local`, `npm start`): the deployed stack ignores it.
  /**
   * Instances (processes) the local Lambda runtime starts at most per function (per gateway worker
   * for the route functions); each runs one invocation at a time, as a Lambda instance does.
   */
  localInstancesPerFunction: number;
}

/** A PostToConnection round trip within a Region takes ~10–30 ms; the derived numbers allow this much. */
const DESIGN_ROUND_TRIP_MS = 50;
/**
 * The budget each consumer instance is sized to get: a full batch (10 messages × 500 ids) then
 * takes 25 s, well inside the consumer's 60 s timeout, and one vCPU sends far more than this
 * (bench/post-throughput.ts: ~9,500 posts/s per core with aws4 + undici).
 */
const CALLS_PER_SECOND_PER_INSTANCE = 200;
const DEFAULT_SHARDS = 10;

/**
 * The delivery budget unless set: 90 % of the account's quota, leaving a tenth for $connect,
 * client messages and the account's other API Gateway calls.
 */
export function deliveryRatePerSecondFor(accountQuotaRatePerSecond: number): number {
  return Math.max(1, Math.floor(accountQuotaRatePerSecond * 0.9));
}
const DEFAULT_DELIVERY_RATE_PER_SECOND = deliveryRatePerSecondFor(AWS_LIMITS.apiGatewayAccountRatePerSecond.value);

/**
 * Calls in flight per invocation, from the budget. The budget already bounds the account's calls
 * in flight to about rate × round trip (9,000/s × 20 ms ≈ 180, not the 32,000 of 500 instances ×
 * 64); this only has to let one invocation spend the whole budget alone: rate × the design round
 * trip (450 at 9,000/s). A ceiling too, in effect: a lease grants at most 25 ms of the rate at once
 * (rate-budget.ts), so more in flight than this is never granted.
 */
export function postConcurrencyFor(deliveryRatePerSecond: number): number {
  return Math.min(1_000, Math.max(1, Math.ceil((deliveryRatePerSecond * DESIGN_ROUND_TRIP_MS) / 1000)));
}

/**
 * Consumer instances per shard, from the budget: the instances that get CALLS_PER_SECOND_PER_INSTANCE
 * each, at least SQS's minimum of 2 (5 per shard, 50 in all, at 9,000/s over 10 shards). More would
 * only wait for budget, paying for Lambda time: 500 instances sharing 9,000/s get 18 calls/s each,
 * and a batch of 5,000 ids would outlast the consumer's timeout (it goes back to the queue).
 */
export function consumerMaxConcurrencyFor(deliveryRatePerSecond: number, shards: number): number {
  return Math.min(1_000, Math.max(2, Math.ceil(deliveryRatePerSecond / (shards * CALLS_PER_SECOND_PER_INSTANCE))));
}

export const defaultConfig: SwarmcastConfig = {
  partitions: 2_500,
  channelPartitions: 10,
  maxChannelsPerConnection: 10,
  shards: DEFAULT_SHARDS,
  mapMaxConcurrency: 100,
  partitionsPerChild: 25,
  toleratedFailurePercentage: 1,
  connectionIdsPerMessage: 500,
  consumerBatchSize: 10,
  consumerBatchingWindowSeconds: 0,
  consumerMaxConcurrency: consumerMaxConcurrencyFor(DEFAULT_DELIVERY_RATE_PER_SECOND, DEFAULT_SHARDS),
  queryConcurrency: 8,
  postConcurrency: postConcurrencyFor(DEFAULT_DELIVERY_RATE_PER_SECOND),
  postRetriesPerInvocation: 2,
  maxDeliveryAttempts: 5,
  maxReceiveCount: 5,
  connectionTtlSeconds: 2 * 60 * 60,
  progressPollSeconds: 2,
  deliveryTimeoutSeconds: 15 * 60,
  sweepSchedule: 'rate(1 hour)',
  stageName: 'live',
  accountQuotaRatePerSecond: AWS_LIMITS.apiGatewayAccountRatePerSecond.value,
  accountQuotaBurst: AWS_LIMITS.apiGatewayAccountBurst.value,
  deliveryRatePerSecond: DEFAULT_DELIVERY_RATE_PER_SECOND,
  connectAuthorizer: undefined,
  sharedRateBudgetTable: undefined,
  // None: reserving needs account concurrency a new account may not have. Where it has, 50 suits
  // 500 new connections/s (the account quota) × ~50 ms per $connect ≈ 25 in flight.
  routeReservedConcurrency: 0,
  accessLogs: false,
  routeThrottleRatePerSecond: 1_000,
  routeThrottleBurst: 500,
  alarmPeriodMinutes: 5,
  throttlingAlarmPercentage: 5,
  throttlingAlarmPeriods: 3,
  // 0: a broadcast that missed any live socket says so; raise it where a few misses are acceptable.
  toleratedFailedSocketsPercentage: 0,
  // Off: clients get the message as sent; turning it on changes what every client must parse.
  broadcastIdEnvelope: false,
  // Started on demand: enough for $connect at the local connect rate with room for the consumers.
  localInstancesPerFunction: 4,
};

/** The numbers of the configuration: exactly the non-flag settings of functions/commons/settings.ts. */
type NumericConfigKey = {
  [K in keyof SwarmcastConfig]-?: SwarmcastConfig[K] extends number ? K : never;
}[keyof SwarmcastConfig];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compiles only while every number here has a definition there and every definition a number here. */
const everyNumberDefined: Same<NumericConfigKey, NumericSetting> = true;
void everyNumberDefined;

/** Bounds that AWS (or common sense) puts on each number: their one definition is functions/commons/settings.ts. */
export const bounds = Object.fromEntries(
  (Object.entries(SETTINGS) as [SettingName, SettingDefinition][])
    .filter(([, definition]) => !definition.flag)
    .map(([key, definition]) => [key, definition.bounds]),
) as Record<NumericSetting, readonly [number, number]>;

/**
 * Events one AwaitDelivery round adds to the execution history: WaitStateEntered/Exited,
 * TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited, ChoiceStateEntered/
 * Exited = 9, plus room for one retried ReadProgress (TaskFailed, TaskScheduled, TaskStarted).
 */
export const HISTORY_EVENTS_PER_POLL = 12;
/** Prepare with its retries, the Map's own events, execution start/end and one redrive's. */
export const HISTORY_EVENTS_FIXED = 100;
/** The original run and one redrive: a redrive continues the same history and awaits delivery again. */
export const AWAIT_RUNS_PER_EXECUTION = 2;

/**
 * The most history events one execution can reach with these settings: ReadProgress polls until
 * the deadline (deliveryTimeoutSeconds after the last enqueue) and at most DELIVERY_GRACE_SECONDS past it.
 */
export function maxHistoryEvents(
  config: Pick<SwarmcastConfig, 'deliveryTimeoutSeconds' | 'progressPollSeconds'>,
): number {
  const pollsPerRun =
    Math.ceil((config.deliveryTimeoutSeconds + DELIVERY_GRACE_SECONDS) / config.progressPollSeconds) + 1;
  return HISTORY_EVENTS_FIXED + AWAIT_RUNS_PER_EXECUTION * pollsPerRun * HISTORY_EVENTS_PER_POLL;
}

/**
 * The account quota AWS gives a Region by default (2,500/1,250 in 13 Regions, else 10,000/5,000),
 * as settings: infra/app.ts puts them under the deployer's overrides once the Region is known.
 */
export function accountQuotaDefaultsFor(
  region: string | undefined,
): Pick<SwarmcastConfig, 'accountQuotaRatePerSecond' | 'accountQuotaBurst'> {
  const quota = defaultAccountQuota(region ?? '');
  return { accountQuotaRatePerSecond: quota.ratePerSecond, accountQuotaBurst: quota.burst };
}

export class InvalidConfigError extends Error {
  override name = 'InvalidConfigError';
}

/** Merges overrides onto the defaults and rejects anything out of bounds, naming the key. */
export function resolveConfig(overrides: Partial<Record<keyof SwarmcastConfig, unknown>> = {}): SwarmcastConfig {
  const config: Record<string, unknown> = { ...defaultConfig };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in defaultConfig)) {
      throw new InvalidConfigError(
        `unknown swarmcast setting "${key}"; known settings: ${Object.keys(defaultConfig).join(', ')}`,
      );
    }
    if (value !== undefined) config[key] = value;
  }
  for (const [key, [min, max]] of Object.entries(bounds)) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidConfigError(
        `swarmcast setting ${key}=${JSON.stringify(value)} must be an integer from ${min} to ${max}`,
      );
    }
  }
  // Numbers that follow from the quota and the budget, unless set.
  if (overrides.deliveryRatePerSecond === undefined)
    config.deliveryRatePerSecond = deliveryRatePerSecondFor(config.accountQuotaRatePerSecond as number);
  if (overrides.postConcurrency === undefined)
    config.postConcurrency = postConcurrencyFor(config.deliveryRatePerSecond as number);
  if (overrides.consumerMaxConcurrency === undefined) {
    config.consumerMaxConcurrency = consumerMaxConcurrencyFor(
      config.deliveryRatePerSecond as number,
      config.shards as number,
    );
  }
  for (const key of ['sweepSchedule', 'stageName'] as const) {
    if (typeof config[key] !== 'string' || config[key] === '') {
      throw new InvalidConfigError(`swarmcast setting ${key} must be a non-empty string`);
    }
  }
  if (
    config.connectAuthorizer !== undefined &&
    (typeof config.connectAuthorizer !== 'string' || !/\.[cm]?[jt]s$/.test(config.connectAuthorizer))
  ) {
    throw new InvalidConfigError(
      `swarmcast setting connectAuthorizer=${JSON.stringify(config.connectAuthorizer)} must be the path of a .ts or .js handler file, relative to the repository root`,
    );
  }
  if (
    config.sharedRateBudgetTable !== undefined &&
    (typeof config.sharedRateBudgetTable !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(config.sharedRateBudgetTable))
  ) {
    throw new InvalidConfigError(
      `swarmcast setting sharedRateBudgetTable=${JSON.stringify(config.sharedRateBudgetTable)} must be a DynamoDB table name (3–255 letters, digits, "_", "-" or "."): another swarmcast stack's RateBudgetTableName output`,
    );
  }
  for (const key of ['broadcastIdEnvelope', 'accessLogs'] as const) {
    if (typeof config[key] !== 'boolean')
      throw new InvalidConfigError(`swarmcast setting ${key}=${JSON.stringify(config[key])} must be true or false`);
  }
  assertWithinHistoryLimit(config as unknown as SwarmcastConfig);
  return config as unknown as SwarmcastConfig;
}

/** A Standard execution fails past 25,000 history events: the AwaitDelivery loop must end well before. */
function assertWithinHistoryLimit(config: SwarmcastConfig): void {
  const limit = AWS_LIMITS.stepFunctionsHistoryEvents.value;
  if (maxHistoryEvents(config) <= limit) return;
  const maxPolls = Math.floor((limit - HISTORY_EVENTS_FIXED) / AWAIT_RUNS_PER_EXECUTION / HISTORY_EVENTS_PER_POLL - 1);
  throw new InvalidConfigError(
    `swarmcast settings deliveryTimeoutSeconds=${config.deliveryTimeoutSeconds} and progressPollSeconds=${config.progressPollSeconds} allow ${maxHistoryEvents(config).toLocaleString('en-US')} history events in one execution (a redrive included), over Step Functions' ${limit.toLocaleString('en-US')}: ` +
      `(deliveryTimeoutSeconds + ${DELIVERY_GRACE_SECONDS} s of grace) / progressPollSeconds must be at most ${maxPolls} (e.g. progressPollSeconds >= ${Math.ceil((config.deliveryTimeoutSeconds + DELIVERY_GRACE_SECONDS) / maxPolls)})`,
  );
}

import { MAX_SQS_MESSAGE_BYTES } from '#commons/constants';

/**
 * Every number swarmcast runs with. Defaults suit a production broadcast to ~1M sockets;
 * override any of them from cdk.json context (`"swarmcast": { "shards": 20 }`) or
 * construct props. The local stack starts from the same defaults.
 */
export interface SwarmcastConfig {
  /** Connections are spread over this many partitions. */
  partitions: number;
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
  /** SQS event source MaximumConcurrency, per shard queue (2–1,000). */
  consumerMaxConcurrency: number;
  /** Partitions one map child queries at once. */
  queryConcurrency: number;
  /** PostToConnection calls in flight per consumer invocation (shared by the records of its batch). */
  postConcurrency: number;
  /** Passes over throttled sockets within one invocation before they are re-queued. */
  postRetriesPerInvocation: number;
  /** Attempts per socket (429/5xx) before it is counted as failed. */
  maxDeliveryAttempts: number;
  /** Receives of one SQS message before it goes to the shard's DLQ. */
  maxReceiveCount: number;
  /** Connection row expiry: API Gateway closes every WebSocket after 2 hours. */
  connectionTtlSeconds: number;
  /** Seconds between progress reads while awaiting delivery. */
  progressPollSeconds: number;
  /** The broadcast fails if delivery is not finished this long after it started. */
  deliveryTimeoutSeconds: number;
  /** EventBridge schedule expression for the stale-connection sweep. */
  sweepSchedule: string;
  /** WebSocket API stage name. */
  stageName: string;

  // The account's API Gateway budget (aws-limits.ts: 10,000 calls/s per account and Region, shared
  // by every @connections call and every $connect).
  /** @connections calls per second that every consumer of every shard shares, whatever their number. */
  deliveryRatePerSecond: number;
  /** The sweep's lower share of the same budget (GetConnection calls per second); it yields to a running broadcast. */
  sweepRatePerSecond: number;
}

export const defaultConfig: SwarmcastConfig = {
  partitions: 2_500,
  shards: 10,
  mapMaxConcurrency: 100,
  partitionsPerChild: 25,
  toleratedFailurePercentage: 1,
  connectionIdsPerMessage: 500,
  consumerBatchSize: 10,
  consumerBatchingWindowSeconds: 0,
  consumerMaxConcurrency: 50,
  queryConcurrency: 8,
  postConcurrency: 64,
  postRetriesPerInvocation: 2,
  maxDeliveryAttempts: 5,
  maxReceiveCount: 3,
  connectionTtlSeconds: 2 * 60 * 60,
  progressPollSeconds: 2,
  deliveryTimeoutSeconds: 15 * 60,
  sweepSchedule: 'rate(1 hour)',
  stageName: 'live',
  // Headroom under the 10,000/s account quota for $connect and the account's other API Gateway calls.
  deliveryRatePerSecond: 9_000,
  sweepRatePerSecond: 1_000,
};

/** Bounds that AWS (or common sense) puts on each number. */
const bounds: Record<Exclude<keyof SwarmcastConfig, 'sweepSchedule' | 'stageName'>, [number, number]> = {
  // The plan travels in Step Functions state (≤ 256 KiB) and the broadcast record holds a count
  // per partition (≤ 400 KB item, beside a 128 KB message): 10,000 keeps both well inside.
  partitions: [1, 10_000],
  shards: [1, 100],
  mapMaxConcurrency: [1, 10_000],
  partitionsPerChild: [1, 10_000],
  toleratedFailurePercentage: [0, 100],
  connectionIdsPerMessage: [1, Math.floor(MAX_SQS_MESSAGE_BYTES / 4)],
  consumerBatchSize: [1, 10_000],
  consumerBatchingWindowSeconds: [0, 300],
  consumerMaxConcurrency: [2, 1_000],
  queryConcurrency: [1, 100],
  postConcurrency: [1, 1_000],
  postRetriesPerInvocation: [0, 10],
  maxDeliveryAttempts: [1, 100],
  maxReceiveCount: [1, 1_000],
  connectionTtlSeconds: [60, 7 * 24 * 60 * 60],
  progressPollSeconds: [1, 3_600],
  deliveryTimeoutSeconds: [10, 24 * 60 * 60],
  // Up to a raised account quota; the default quota is AWS_LIMITS.apiGatewayAccountRatePerSecond.
  deliveryRatePerSecond: [1, 1_000_000],
  sweepRatePerSecond: [1, 1_000_000],
};

export class InvalidConfigError extends Error {
  override name = 'InvalidConfigError';
}

/** Merges overrides onto the defaults and rejects anything out of bounds, naming the key. */
export function resolveConfig(overrides: Partial<Record<keyof SwarmcastConfig, unknown>> = {}): SwarmcastConfig {
  const config: Record<string, unknown> = { ...defaultConfig };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in defaultConfig)) {
      throw new InvalidConfigError(`unknown swarmcast setting "${key}"; known settings: ${Object.keys(defaultConfig).join(', ')}`);
    }
    if (value !== undefined) config[key] = value;
  }
  for (const [key, [min, max]] of Object.entries(bounds)) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidConfigError(`swarmcast setting ${key}=${JSON.stringify(value)} must be an integer from ${min} to ${max}`);
    }
  }
  for (const key of ['sweepSchedule', 'stageName'] as const) {
    if (typeof config[key] !== 'string' || config[key] === '') {
      throw new InvalidConfigError(`swarmcast setting ${key} must be a non-empty string`);
    }
  }
  return config as unknown as SwarmcastConfig;
}

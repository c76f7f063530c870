/**
 * Every numeric setting, defined once: its bounds (with the reason for them) and, for those a
 * handler reads, the environment variable that carries it. infra/config.ts checks the deployer's
 * configuration against these bounds; handlers read theirs through readSettings, which checks the
 * same bounds at cold start. What each setting means: SwarmcastConfig in infra/config.ts.
 */
import { AWS_LIMITS } from '#commons/aws-limits';
import { MAX_SQS_MESSAGE_BYTES } from '#commons/constants';
import { ENV } from '#commons/environment';
import { getIntegerFromEnv } from '#commons/helpers/env';

export interface SettingDefinition {
  /** Smallest and largest value allowed, both included. */
  readonly bounds: readonly [number, number];
  /** The environment variable carrying it to the handlers that read it; none: only the stack reads it. */
  readonly variable?: string;
  /** true/false in the configuration, 1/0 in the environment. */
  readonly flag?: true;
}

export const SETTINGS = {
  // The plan travels in Step Functions state (≤ 256 KiB) as the Map's item list: 10,000 keeps it well inside.
  partitions: { variable: ENV.partitionCount, bounds: [1, 10_000] },
  // A channel broadcast's map items: past 100 a 10-member channel would pay 100 Queries (docs/channels.md).
  channelPartitions: { variable: ENV.channelPartitions, bounds: [1, 100] },
  // The row's channel set stays small: an UpdateItem is charged by the whole item.
  maxChannelsPerConnection: { variable: ENV.maxChannelsPerConnection, bounds: [1, 100] },
  // Five resources per shard (queue, DLQ, their SSL-only policies, the event source mapping)
  // keep the stack under CloudFormation's 500 resources at 50 (test/infra/bounds.test.ts).
  // Handlers get it with the shard queues (SHARD_COUNT), not as a setting of their own.
  shards: { bounds: [1, 50] },
  mapMaxConcurrency: { variable: ENV.mapMaxConcurrency, bounds: [1, 10_000] },
  partitionsPerChild: { variable: ENV.partitionsPerChild, bounds: [1, 10_000] },
  toleratedFailurePercentage: { variable: ENV.toleratedFailurePercentage, bounds: [0, 100] },
  connectionIdsPerMessage: {
    variable: ENV.connectionIdsPerMessage,
    bounds: [1, Math.floor(MAX_SQS_MESSAGE_BYTES / 4)],
  },
  consumerBatchSize: { bounds: [1, 10_000] },
  consumerBatchingWindowSeconds: { bounds: [0, 300] },
  consumerMaxConcurrency: { bounds: [2, 1_000] },
  queryConcurrency: { variable: ENV.queryConcurrency, bounds: [1, 100] },
  postConcurrency: { variable: ENV.postConcurrency, bounds: [1, 1_000] },
  postRetriesPerInvocation: { variable: ENV.postRetriesPerInvocation, bounds: [0, 10] },
  maxDeliveryAttempts: { variable: ENV.maxDeliveryAttempts, bounds: [1, 100] },
  // AWS: at least 5 for a Lambda consumer, so a throttled poller does not send messages to the DLQ.
  maxReceiveCount: { bounds: [5, 1_000] },
  connectionTtlSeconds: { variable: ENV.connectionTtlSeconds, bounds: [60, 7 * 24 * 60 * 60] },
  progressPollSeconds: { variable: ENV.progressPollSeconds, bounds: [1, 3_600] },
  deliveryTimeoutSeconds: { variable: ENV.deliveryTimeoutSeconds, bounds: [10, 24 * 60 * 60] },
  // Up to a raised account quota; the default quota is AWS_LIMITS.apiGatewayAccountRatePerSecond.
  accountQuotaRatePerSecond: { bounds: [1, 1_000_000] },
  accountQuotaBurst: { bounds: [1, 1_000_000] },
  deliveryRatePerSecond: { variable: ENV.deliveryRatePerSecond, bounds: [1, 1_000_000] },
  // 0: no reservation. Up to three functions reserve this ($connect, $disconnect, the authorizer);
  // Lambda keeps 100 of the account's concurrency (default 1,000) unreserved, so 3 × 200 still deploys in a default account.
  routeReservedConcurrency: { bounds: [0, 200] },
  routeThrottleRatePerSecond: { bounds: [1, AWS_LIMITS.apiGatewayAccountRatePerSecond.value] },
  routeThrottleBurst: { bounds: [1, AWS_LIMITS.apiGatewayAccountBurst.value] },
  // A minute is CloudWatch's standard resolution; past an hour an alarm is no longer news.
  alarmPeriodMinutes: { bounds: [1, 60] },
  throttlingAlarmPercentage: { bounds: [1, 100] },
  // A day at the longest alarm period: past a day of periods CloudWatch evaluates an alarm only hourly.
  throttlingAlarmPeriods: { bounds: [1, 24] },
  toleratedFailedSocketsPercentage: { variable: ENV.toleratedFailedSocketsPercentage, bounds: [0, 100] },
  broadcastIdEnvelope: { variable: ENV.broadcastIdEnvelope, bounds: [0, 1], flag: true },
  // Each instance is a Node process (~60 MB with tsx): 32 per function is already more than 2 cores use.
  localInstancesPerFunction: { bounds: [1, 32] },
} as const satisfies Record<string, SettingDefinition>;

type Settings = typeof SETTINGS;
export type SettingName = keyof Settings;
/** The settings a handler can read: those with an environment variable. */
export type HandlerSetting = { [K in SettingName]: Settings[K] extends { variable: string } ? K : never }[SettingName];
/** The settings that are whole numbers in the configuration (the others are flags). */
export type NumericSetting = { [K in SettingName]: Settings[K] extends { flag: true } ? never : K }[SettingName];
export type SettingValue<K extends SettingName> = Settings[K] extends { flag: true } ? boolean : number;

/** Every setting a handler can read. */
export const HANDLER_SETTINGS = (Object.keys(SETTINGS) as SettingName[]).filter(
  (name): name is HandlerSetting => 'variable' in SETTINGS[name],
);

/** The environment variable of a setting a handler reads. */
export function variableOf(name: HandlerSetting): string {
  return SETTINGS[name].variable;
}

/**
 * The named settings from the environment, each checked against its bounds. Called at cold
 * start: an unset or out-of-bounds variable throws a ConfigurationError naming the variable, the
 * value and the allowed range, so a bad deploy fails on its first invocation.
 */
export function readSettings<const K extends HandlerSetting>(names: readonly K[]): { [P in K]: SettingValue<P> } {
  return Object.fromEntries(names.map((name) => [name, readSetting(name)])) as { [P in K]: SettingValue<P> };
}

function readSetting(name: HandlerSetting): number | boolean {
  const definition: SettingDefinition = SETTINGS[name];
  const [min, max] = definition.bounds;
  const value = getIntegerFromEnv(variableOf(name), { min, max });
  return definition.flag ? value === 1 : value;
}

/** The environment variables carrying the named settings, from the configuration's values (flags as 1/0). */
export function settingEnvironment(
  values: { readonly [K in HandlerSetting]: SettingValue<K> },
  names: readonly HandlerSetting[],
): Record<string, string> {
  return Object.fromEntries(
    names.map((name) => {
      const value = values[name];
      return [variableOf(name), String(typeof value === 'boolean' ? Number(value) : value)];
    }),
  );
}

/**
 * The typed configuration as the numeric settings handlers read, keyed by environment
 * variable: one mapping for the CDK stack and the local stack. Free of CDK imports.
 */
import { ENV } from '#commons/environment';
import type { SettingVariable } from '../functions/manifest';
import type { SwarmcastConfig } from './config';

/** Every numeric setting a handler may read, keyed by its environment variable. */
export function settingsOf(config: SwarmcastConfig): Record<SettingVariable, number> {
  return {
    [ENV.partitionCount]: config.partitions,
    [ENV.connectionTtlSeconds]: config.connectionTtlSeconds,
    [ENV.mapMaxConcurrency]: config.mapMaxConcurrency,
    [ENV.partitionsPerChild]: config.partitionsPerChild,
    [ENV.toleratedFailurePercentage]: config.toleratedFailurePercentage,
    [ENV.toleratedFailedSocketsPercentage]: config.toleratedFailedSocketsPercentage,
    [ENV.progressPollSeconds]: config.progressPollSeconds,
    [ENV.deliveryTimeoutSeconds]: config.deliveryTimeoutSeconds,
    [ENV.connectionIdsPerMessage]: config.connectionIdsPerMessage,
    [ENV.queryConcurrency]: config.queryConcurrency,
    [ENV.postConcurrency]: config.postConcurrency,
    [ENV.postRetriesPerInvocation]: config.postRetriesPerInvocation,
    [ENV.maxDeliveryAttempts]: config.maxDeliveryAttempts,
    [ENV.deliveryRatePerSecond]: config.deliveryRatePerSecond,
    [ENV.sweepRatePerSecond]: config.sweepRatePerSecond,
    [ENV.broadcastIdEnvelope]: config.broadcastIdEnvelope ? 1 : 0,
    [ENV.channelPartitions]: config.channelPartitions,
    [ENV.maxChannelsPerConnection]: config.maxChannelsPerConnection,
  };
}

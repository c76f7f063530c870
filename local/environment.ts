import { ENV } from '#commons/environment';
import { shardQueueUrlPrefix } from '#commons/shard-queues';
import type { SwarmcastConfig } from '../infra/config';

export interface LocalResources {
  region: string;
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  tableNames: { Connections: string; Partitions: string; Broadcasts: string; RateBudget: string };
  shardQueueUrls: string[];
  connectionsEndpoint?: string;
}

/**
 * The environment every handler runs with on the local stack: the same variables the CDK
 * stack sets, with the SDK pointed at the local services by the standard AWS_ENDPOINT_URL_*.
 */
export function handlerEnvironment(config: SwarmcastConfig, resources: LocalResources): Record<string, string> {
  const env: Record<string, string> = {
    AWS_REGION: resources.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: resources.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_SQS: resources.sqsEndpoint,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
    [ENV.connectionsTable]: resources.tableNames.Connections,
    [ENV.partitionsTable]: resources.tableNames.Partitions,
    [ENV.broadcastsTable]: resources.tableNames.Broadcasts,
    [ENV.partitionCount]: String(config.partitions),
    [ENV.connectionTtlSeconds]: String(config.connectionTtlSeconds),
    [ENV.shardQueueUrlPrefix]: shardQueueUrlPrefix(resources.shardQueueUrls),
    [ENV.shardCount]: String(resources.shardQueueUrls.length),
    [ENV.mapMaxConcurrency]: String(config.mapMaxConcurrency),
    [ENV.partitionsPerChild]: String(config.partitionsPerChild),
    [ENV.toleratedFailurePercentage]: String(config.toleratedFailurePercentage),
    [ENV.toleratedFailedSocketsPercentage]: String(config.toleratedFailedSocketsPercentage),
    [ENV.progressPollSeconds]: String(config.progressPollSeconds),
    [ENV.deliveryTimeoutSeconds]: String(config.deliveryTimeoutSeconds),
    [ENV.connectionIdsPerMessage]: String(config.connectionIdsPerMessage),
    [ENV.queryConcurrency]: String(config.queryConcurrency),
    [ENV.postConcurrency]: String(config.postConcurrency),
    [ENV.postRetriesPerInvocation]: String(config.postRetriesPerInvocation),
    [ENV.maxDeliveryAttempts]: String(config.maxDeliveryAttempts),
    [ENV.rateBudgetTable]: resources.tableNames.RateBudget,
    [ENV.deliveryRatePerSecond]: String(config.deliveryRatePerSecond),
    [ENV.sweepRatePerSecond]: String(config.sweepRatePerSecond),
  };
  if (resources.connectionsEndpoint) env[ENV.connectionsEndpoint] = resources.connectionsEndpoint;
  // The $connect authorizer's secret comes from the environment `swarmcast local` runs in, as a stack parameter on AWS.
  const secret = process.env[ENV.connectAuthorizerSecret];
  if (config.connectAuthorizer && secret) env[ENV.connectAuthorizerSecret] = secret;
  return env;
}

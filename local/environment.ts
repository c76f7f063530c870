import { ENV } from '#commons/environment';
import { shardQueueUrlPrefix } from '#commons/shard-queues';
import type { SwarmcastConfig } from '../infra/config';
import { settingsOf } from '../infra/function-settings';

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
    // No CloudWatch here: Powertools would print every invocation's metrics as EMF JSON to stdout.
    POWERTOOLS_METRICS_DISABLED: 'true',
    [ENV.connectionsTable]: resources.tableNames.Connections,
    [ENV.partitionsTable]: resources.tableNames.Partitions,
    [ENV.broadcastsTable]: resources.tableNames.Broadcasts,
    [ENV.rateBudgetTable]: resources.tableNames.RateBudget,
    [ENV.shardQueueUrlPrefix]: shardQueueUrlPrefix(resources.shardQueueUrls),
    [ENV.shardCount]: String(resources.shardQueueUrls.length),
  };
  for (const [variable, value] of Object.entries(settingsOf(config))) env[variable] = String(value);
  if (resources.connectionsEndpoint) env[ENV.connectionsEndpoint] = resources.connectionsEndpoint;
  // The $connect authorizer's secret comes from the environment `swarmcast local` runs in, as a stack parameter on AWS.
  const secret = process.env[ENV.connectAuthorizerSecret];
  if (config.connectAuthorizer && secret) env[ENV.connectAuthorizerSecret] = secret;
  return env;
}

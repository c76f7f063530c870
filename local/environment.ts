import { ENV } from '#commons/environment';
import type { SwarmcastConfig } from '../infra/config';
import { settingsOf } from '../infra/function-settings';

export interface LocalResources {
  region: string;
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  tableNames: { Connections: string; Partitions: string; Broadcasts: string };
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
    [ENV.shardQueueUrls]: resources.shardQueueUrls.join(','),
  };
  for (const [variable, value] of Object.entries(settingsOf(config))) env[variable] = String(value);
  if (resources.connectionsEndpoint) env[ENV.connectionsEndpoint] = resources.connectionsEndpoint;
  return env;
}

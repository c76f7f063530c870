/**
 * The environment of each local function: exactly the variables its functions/catalog.ts entry
 * lists (as the CDK stack binds them), plus what Lambda itself sets (Region, credentials) and the
 * standard AWS_ENDPOINT_URL_* pointing the SDK at the local services. Nothing else: a handler
 * reading a variable the stack does not bind fails to start locally as on AWS.
 */
import { ENV } from '#commons/environment';
import { shardQueueUrlPrefix } from '#commons/shard-queues';
import type { SwarmcastConfig } from '../infra/config';
import { HANDLER_SETTINGS, settingEnvironment } from '#commons/settings';
import { FUNCTION_CATALOG, type FunctionName, variablesOf } from '../functions/catalog';

export interface LocalResources {
  region: string;
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  tableNames: { Connections: string; Broadcasts: string; RateBudget: string; Subscriptions: string };
  shardQueueUrls: string[];
  connectionsEndpoint?: string;
}

/** What the Lambda runtime sets for every function, with the SDK pointed at the local services. */
export function runtimeEnvironment(resources: LocalResources): Record<string, string> {
  const env: Record<string, string> = {
    AWS_REGION: resources.region,
    AWS_DEFAULT_REGION: resources.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: resources.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_SQS: resources.sqsEndpoint,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
    // No CloudWatch here: Powertools would print every invocation's metrics as EMF JSON to stdout.
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  for (const [variable, value] of Object.entries(process.env))
    if (variable.startsWith('POWERTOOLS_') && value !== undefined) env[variable] = value;
  return env;
}

/** Every value the stack can bind, by variable: the pool each function's catalog entry picks from. */
function stackBindings(config: SwarmcastConfig, resources: LocalResources): Record<string, string> {
  const bindings: Record<string, string> = {
    [ENV.connectionsTable]: resources.tableNames.Connections,
    [ENV.broadcastsTable]: resources.tableNames.Broadcasts,
    [ENV.rateBudgetTable]: resources.tableNames.RateBudget,
    [ENV.subscriptionsTable]: resources.tableNames.Subscriptions,
    [ENV.shardQueueUrlPrefix]: shardQueueUrlPrefix(resources.shardQueueUrls),
    [ENV.shardCount]: String(resources.shardQueueUrls.length),
  };
  Object.assign(bindings, settingEnvironment(config, HANDLER_SETTINGS));
  if (resources.connectionsEndpoint) bindings[ENV.connectionsEndpoint] = resources.connectionsEndpoint;
  return bindings;
}

/** Exactly the environment Lambda gives `name` in the deployed stack, pointed at the local resources. */
export function functionEnvironment(
  name: FunctionName,
  config: SwarmcastConfig,
  resources: LocalResources,
): Record<string, string> {
  const bindings = stackBindings(config, resources);
  const env = runtimeEnvironment(resources);
  for (const variable of variablesOf(FUNCTION_CATALOG[name])) {
    const value = bindings[variable];
    if (value === undefined) throw new Error(`local stack: no value for ${variable}, which ${name} needs`);
    env[variable] = value;
  }
  return env;
}

/** The deployer's $connect authorizer's environment: its secret, a stack parameter on AWS, from the environment `swarmcast local` runs in. */
export function authorizerEnvironment(resources: LocalResources): Record<string, string> {
  const secret = process.env[ENV.connectAuthorizerSecret];
  return { ...runtimeEnvironment(resources), ...(secret ? { [ENV.connectAuthorizerSecret]: secret } : {}) };
}

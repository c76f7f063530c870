/**
 * What each handler reads and may do: its tables and the access it needs, whether it sends
 * to the shard queues, which @connections methods it calls, and the numeric settings it reads.
 * The one place both sides come from: the CDK stack binds exactly this (environment variables
 * and grants, SwarmcastFunction.bindManifest), the infra test checks the template against it,
 * and a unit test loads each handler with exactly these variables.
 */
import { ENV } from '#commons/environment';

export type TableName = 'connections' | 'broadcasts' | 'rateBudget' | 'subscriptions';
export type TableAccess = 'read' | 'write' | 'readWrite';

/** HTTP methods of the @connections management API: POST = PostToConnection, GET = GetConnection, DELETE = DeleteConnection. */
export type ManagementMethod = 'POST' | 'GET' | 'DELETE';

/** The environment variable naming each table. */
export const TABLE_VARIABLES = {
  connections: ENV.connectionsTable,
  broadcasts: ENV.broadcastsTable,
  rateBudget: ENV.rateBudgetTable,
  subscriptions: ENV.subscriptionsTable,
} as const satisfies Record<TableName, string>;

/** The numeric settings a handler may read (values from infra/config.ts). */
export type SettingVariable = (typeof ENV)[
  | 'partitionCount'
  | 'connectionTtlSeconds'
  | 'mapMaxConcurrency'
  | 'partitionsPerChild'
  | 'toleratedFailurePercentage'
  | 'toleratedFailedSocketsPercentage'
  | 'progressPollSeconds'
  | 'deliveryTimeoutSeconds'
  | 'connectionIdsPerMessage'
  | 'queryConcurrency'
  | 'postConcurrency'
  | 'postRetriesPerInvocation'
  | 'maxDeliveryAttempts'
  | 'deliveryRatePerSecond'
  | 'sweepRatePerSecond'
  | 'broadcastIdEnvelope'
  | 'channelPartitions'
  | 'maxChannelsPerConnection'];

export interface FunctionNeeds {
  tables: Partial<Record<TableName, TableAccess>>;
  /** SHARD_QUEUE_URL_PREFIX, SHARD_COUNT and SendMessage on every shard queue. */
  sendsToShardQueues: boolean;
  /** CONNECTIONS_ENDPOINT and execute-api:ManageConnections for these methods; none: neither. */
  connectionsApi: readonly ManagementMethod[];
  settings: readonly SettingVariable[];
}

export const FUNCTION_MANIFEST = {
  // One PutItem per $connect and one DeleteItem per $disconnect, keyed by the id's partition.
  // With ?channels=, also one membership item per channel (functions/commons/memberships.ts).
  connect: {
    tables: { connections: 'write', subscriptions: 'write' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: [ENV.partitionCount, ENV.connectionTtlSeconds, ENV.channelPartitions, ENV.maxChannelsPerConnection],
  },
  // The deleted row names the channels whose memberships go with it.
  disconnect: {
    tables: { connections: 'write', subscriptions: 'write' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: [ENV.partitionCount, ENV.channelPartitions],
  },
  // The subscribe and unsubscribe routes: the row's channel set, then the membership; the answer is the route response.
  subscriptions: {
    tables: { connections: 'readWrite', subscriptions: 'write' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: [ENV.partitionCount, ENV.channelPartitions, ENV.maxChannelsPerConnection],
  },
  // $default answers through the route response: no table, no @connections.
  default: { tables: {}, sendsToShardQueues: false, connectionsApi: [], settings: [] },
  'prepare-broadcast': {
    // A replay reads the broadcast it resumes. Every partition is visited: nothing about the connections is read.
    tables: { broadcasts: 'readWrite' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: [
      ENV.partitionCount,
      ENV.channelPartitions,
      ENV.mapMaxConcurrency,
      ENV.partitionsPerChild,
      ENV.toleratedFailurePercentage,
      ENV.toleratedFailedSocketsPercentage,
      ENV.progressPollSeconds,
      ENV.deliveryTimeoutSeconds,
      ENV.broadcastIdEnvelope,
    ],
  },
  'query-partitions': {
    // Writes too: a sweep deletes expired rows.
    // subscriptions: a channel broadcast reads its members there; a sweep deletes an expired row's.
    tables: { connections: 'readWrite', broadcasts: 'readWrite', subscriptions: 'readWrite' },
    sendsToShardQueues: true,
    connectionsApi: [],
    settings: [ENV.connectionIdsPerMessage, ENV.queryConcurrency, ENV.channelPartitions],
  },
  // Writes the plan's delivery deadline once the fan-out has ended.
  'read-progress': { tables: { broadcasts: 'readWrite' }, sendsToShardQueues: false, connectionsApi: [], settings: [] },
  'post-message': {
    // rateBudget: every @connections call is leased from the account's delivery budget.
    // connections: deletes the rows of sockets that answered 410; it never reads them.
    // subscriptions: a gone socket's memberships leave with its row.
    tables: { connections: 'write', broadcasts: 'readWrite', rateBudget: 'readWrite', subscriptions: 'write' },
    // Re-queues only the ids the budget or a 429 left undelivered.
    sendsToShardQueues: true,
    // GET: the sweep probes each connection (GetConnection).
    connectionsApi: ['POST', 'GET'],
    settings: [
      ENV.postConcurrency,
      ENV.postRetriesPerInvocation,
      ENV.maxDeliveryAttempts,
      ENV.deliveryRatePerSecond,
      ENV.sweepRatePerSecond,
      ENV.partitionCount,
      ENV.channelPartitions,
    ],
  },
} as const satisfies Record<string, FunctionNeeds>;

/** The handlers, by entry file name under functions/ (the names the CDK stack and the local stack use). */
export type FunctionName = keyof typeof FUNCTION_MANIFEST;

/** Every environment variable of ours a handler reads, per its manifest entry. */
export function variablesOf(needs: FunctionNeeds): string[] {
  return [
    ...Object.keys(needs.tables).map((table) => TABLE_VARIABLES[table as TableName]),
    ...(needs.sendsToShardQueues ? [ENV.shardQueueUrlPrefix, ENV.shardCount] : []),
    ...(needs.connectionsApi.length > 0 ? [ENV.connectionsEndpoint] : []),
    ...needs.settings,
  ];
}

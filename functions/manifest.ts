/**
 * What each handler reads and may do: its tables and the access it needs, whether it sends
 * to the shard queues, which @connections methods it calls, and the numeric settings it reads.
 * The one place both sides come from: the CDK stack binds exactly this (environment variables
 * and grants, SwarmcastFunction.bindManifest), the infra test checks the template against it,
 * and a unit test loads each handler with exactly these variables.
 */
import { ENV } from '#commons/environment';

export type TableName = 'connections' | 'partitions' | 'broadcasts' | 'rateBudget';
export type TableAccess = 'read' | 'write' | 'readWrite';

/** HTTP methods of the @connections management API: POST = PostToConnection, GET = GetConnection, DELETE = DeleteConnection. */
export type ManagementMethod = 'POST' | 'GET' | 'DELETE';

/** The environment variable naming each table. */
export const TABLE_VARIABLES = {
  connections: ENV.connectionsTable,
  partitions: ENV.partitionsTable,
  broadcasts: ENV.broadcastsTable,
  rateBudget: ENV.rateBudgetTable,
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
  | 'broadcastIdEnvelope'];

export interface FunctionNeeds {
  tables: Partial<Record<TableName, TableAccess>>;
  /** SHARD_QUEUE_URL_PREFIX, SHARD_COUNT and SendMessage on every shard queue. */
  sendsToShardQueues: boolean;
  /** CONNECTIONS_ENDPOINT and execute-api:ManageConnections for these methods; none: neither. */
  connectionsApi: readonly ManagementMethod[];
  settings: readonly SettingVariable[];
}

export const FUNCTION_MANIFEST = {
  connect: {
    tables: { connections: 'write', partitions: 'readWrite' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: [ENV.partitionCount, ENV.connectionTtlSeconds],
  },
  disconnect: {
    tables: { connections: 'write', partitions: 'write' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: [],
  },
  // $default answers through the route response: no table, no @connections.
  default: { tables: {}, sendsToShardQueues: false, connectionsApi: [], settings: [] },
  'prepare-broadcast': {
    // A replay reads the broadcast it resumes. Every partition is visited: no counter is read.
    tables: { broadcasts: 'readWrite' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: [
      ENV.partitionCount,
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
    // Writes too: a sweep deletes expired rows and repairs the partition counters.
    tables: { connections: 'readWrite', partitions: 'write', broadcasts: 'readWrite' },
    sendsToShardQueues: true,
    connectionsApi: [],
    settings: [ENV.connectionIdsPerMessage, ENV.queryConcurrency],
  },
  'read-progress': { tables: { broadcasts: 'read' }, sendsToShardQueues: false, connectionsApi: [], settings: [] },
  'post-message': {
    // rateBudget: every @connections call is leased from the account's delivery budget.
    tables: { connections: 'write', partitions: 'write', broadcasts: 'readWrite', rateBudget: 'readWrite' },
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
      ENV.deliveryTimeoutSeconds,
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

/**
 * The function catalog: every Lambda function of swarmcast, one entry each — its handler file,
 * what triggers it, its memory and timeout, the tables and access it needs, whether it sends to
 * the shard queues, the @connections methods it calls, and the settings it reads (defined in
 * #commons/settings). The CDK stack (infra/swarmcast-stack.ts) and the local stack
 * (local/wiring.ts) are both built by iterating it; the infra tests check the template against it,
 * and a unit test loads each handler with exactly the variables it implies. Adding a function is
 * one entry here plus its handler and tests.
 */
import { CONSUMER_TIMEOUT_SECONDS } from '#commons/constants';
import { ENV } from '#commons/environment';
import { type HandlerSetting, variableOf } from '#commons/settings';

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

/** The WebSocket API's routes that invoke a function (subscribe/unsubscribe: client/protocol.ts SUBSCRIPTION_ROUTES). */
export type WebSocketRoute = '$connect' | '$disconnect' | '$default' | 'subscribe' | 'unsubscribe';

/** What invokes a function; each kind is wired once in each stack. */
export type Trigger =
  /**
   * WebSocket routes (one, or several one function serves). `reservedConcurrency`: the function
   * gets the configured routeReservedConcurrency.
   */
  | { kind: 'route'; route: WebSocketRoute | readonly WebSocketRoute[]; reservedConcurrency: boolean }
  /** The event sources of every shard queue (batch size, window and concurrency from the configuration). */
  | { kind: 'shardQueueConsumer' }
  /** A Lambda task of statemachines/broadcast.asl.json: the state, and the `${...}` placeholder its ARN fills. */
  | { kind: 'stateMachineTask'; state: string; arnPlaceholder: string };

export interface CatalogEntry {
  /** Entry file under functions/, which exports `handler`. */
  handler: string;
  /** The CDK construct id: the logical ids of the deployed resources derive from it, so it never changes. */
  constructId: string;
  description: string;
  trigger: Trigger;
  /** On Lambda, CPU grows with memory: CPU-bound handlers ask for more. */
  memoryMb: number;
  timeoutSeconds: number;
  tables: Partial<Record<TableName, TableAccess>>;
  /** SHARD_QUEUE_URL_PREFIX, SHARD_COUNT and SendMessage on every shard queue. */
  sendsToShardQueues: boolean;
  /** CONNECTIONS_ENDPOINT and execute-api:ManageConnections for these methods; none: neither. */
  connectionsApi: readonly ManagementMethod[];
  settings: readonly HandlerSetting[];
}

// WebSocket routes: short, latency-bound calls (API Gateway waits at most 29 s anyway). $connect and
// $disconnect get reserved concurrency rather than capping the consumers: consumers and map children
// may use up the account's pool during a broadcast, and a reservation is the only guarantee that
// clients can still connect and leave.
export const FUNCTION_CATALOG = {
  // One PutItem per $connect and one DeleteItem per $disconnect, keyed by the id's partition.
  // With ?channels=, also one membership item per channel (functions/commons/memberships.ts).
  connect: {
    handler: 'connect.ts',
    constructId: 'Connect',
    description: 'WebSocket $connect: store the connection in the partition its id hashes to.',
    trigger: { kind: 'route', route: '$connect', reservedConcurrency: true },
    memoryMb: 256,
    timeoutSeconds: 10,
    tables: { connections: 'write', subscriptions: 'write' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: ['partitions', 'connectionTtlSeconds', 'channelPartitions', 'maxChannelsPerConnection'],
  },
  disconnect: {
    handler: 'disconnect.ts',
    constructId: 'Disconnect',
    description: 'WebSocket $disconnect: remove the connection.',
    trigger: { kind: 'route', route: '$disconnect', reservedConcurrency: true },
    memoryMb: 256,
    timeoutSeconds: 10,
    // The deleted row names the channels whose memberships go with it.
    tables: { connections: 'write', subscriptions: 'write' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: ['partitions', 'channelPartitions'],
  },
  // subscribe and unsubscribe: the row's channel set, then the membership; the answer is the route response.
  subscriptions: {
    handler: 'subscriptions.ts',
    constructId: 'SubscriptionsRoute',
    description: 'WebSocket subscribe/unsubscribe: join or leave a channel.',
    trigger: { kind: 'route', route: ['subscribe', 'unsubscribe'], reservedConcurrency: false },
    memoryMb: 256,
    timeoutSeconds: 10,
    tables: { connections: 'readWrite', subscriptions: 'write' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: ['partitions', 'channelPartitions', 'maxChannelsPerConnection'],
  },
  // $default answers through the route response: no table, no @connections.
  default: {
    handler: 'default.ts',
    // Not 'Default': CDK drops that word from logical ids.
    constructId: 'DefaultRoute',
    description: 'WebSocket $default: answers the old keep-alive "ping" with "pong".',
    trigger: { kind: 'route', route: '$default', reservedConcurrency: false },
    memoryMb: 256,
    timeoutSeconds: 10,
    tables: {},
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: [],
  },
  // The delivery hot loop: one PostToConnection per socket, CPU-bound in signing and I/O
  // bookkeeping, so it gets a full vCPU (1,769 MB) and a timeout that leaves room for 429 back-off.
  'post-message': {
    handler: 'post-message.ts',
    constructId: 'PostMessage',
    description: 'Shard queue consumer: post the message to each connection id, sweep gone ones.',
    trigger: { kind: 'shardQueueConsumer' },
    memoryMb: 1769,
    timeoutSeconds: CONSUMER_TIMEOUT_SECONDS,
    // rateBudget: every @connections call is leased from the account's delivery budget.
    // connections: deletes the rows of sockets that answered 410, and a sweep's expired rows; it never reads them.
    // subscriptions: a gone socket's memberships leave with its row.
    tables: { connections: 'write', broadcasts: 'readWrite', rateBudget: 'readWrite', subscriptions: 'write' },
    // Re-queues only the ids the budget or a 429 left undelivered.
    sendsToShardQueues: true,
    connectionsApi: ['POST'],
    settings: [
      'postConcurrency',
      'postRetriesPerInvocation',
      'maxDeliveryAttempts',
      'deliveryRatePerSecond',
      // A gone socket of a channel broadcast: its row's partition from its id, its memberships' keys.
      'partitions',
      'channelPartitions',
    ],
  },
  // The state machine's tasks. The Distributed Map numbers reach the ASL through Prepare's
  // output ($.config), so changing them needs no new state machine definition.
  'prepare-broadcast': {
    handler: 'prepare-broadcast.ts',
    constructId: 'PrepareBroadcast',
    description: 'State machine Prepare: validate the input, store the broadcast, list the partitions.',
    trigger: { kind: 'stateMachineTask', state: 'Prepare', arnPlaceholder: 'PrepareBroadcastFunctionArn' },
    memoryMb: 256,
    timeoutSeconds: 30,
    // A replay reads the broadcast it resumes. Every partition is visited: nothing about the connections is read.
    tables: { broadcasts: 'readWrite' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: [
      'partitions',
      'channelPartitions',
      'mapMaxConcurrency',
      'partitionsPerChild',
      'toleratedFailurePercentage',
      'toleratedFailedSocketsPercentage',
      'progressPollSeconds',
      'deliveryTimeoutSeconds',
      'broadcastIdEnvelope',
    ],
  },
  // Reads whole partitions (paginated Query) and enqueues them: more memory for more CPU and
  // network, and minutes of timeout for the largest partitions.
  'query-partitions': {
    handler: 'query-partitions.ts',
    constructId: 'QueryPartitions',
    description: 'Distributed Map child: query its partitions, enqueue connection ids on the shard queues.',
    trigger: { kind: 'stateMachineTask', state: 'QueryPartitions', arnPlaceholder: 'QueryPartitionsFunctionArn' },
    memoryMb: 1024,
    timeoutSeconds: 5 * 60,
    // Reads only: a sweep enqueues its expired rows, the consumer deletes them. subscriptions: a channel broadcast reads its members there.
    tables: { connections: 'read', broadcasts: 'readWrite', subscriptions: 'read' },
    sendsToShardQueues: true,
    connectionsApi: [],
    settings: ['connectionIdsPerMessage', 'queryConcurrency', 'channelPartitions'],
  },
  // Writes the plan's delivery deadline once the fan-out has ended.
  'read-progress': {
    handler: 'read-progress.ts',
    constructId: 'ReadProgress',
    description: 'State machine ReadProgress: the broadcast counters, done or timed out.',
    trigger: { kind: 'stateMachineTask', state: 'ReadProgress', arnPlaceholder: 'ReadProgressFunctionArn' },
    memoryMb: 256,
    timeoutSeconds: 10,
    tables: { broadcasts: 'readWrite' },
    sendsToShardQueues: false,
    connectionsApi: [],
    settings: [],
  },
} as const satisfies Record<string, CatalogEntry>;

/** The functions, by catalog name (the name the CDK stack and the local stack use). */
export type FunctionName = keyof typeof FUNCTION_CATALOG;

/** The catalog's entries in catalog order, typed. */
export function catalogEntries(): [FunctionName, CatalogEntry][] {
  return Object.entries(FUNCTION_CATALOG) as [FunctionName, CatalogEntry][];
}

/** The routes a route trigger names, one or several. */
export function routesOf(trigger: Extract<Trigger, { kind: 'route' }>): readonly WebSocketRoute[] {
  return typeof trigger.route === 'string' ? [trigger.route] : trigger.route;
}

/** Every environment variable of ours a handler reads, per its catalog entry. */
export function variablesOf(entry: CatalogEntry): string[] {
  return [
    ...Object.keys(entry.tables).map((table) => TABLE_VARIABLES[table as TableName]),
    ...(entry.sendsToShardQueues ? [ENV.shardQueueUrlPrefix, ENV.shardCount] : []),
    ...(entry.connectionsApi.length > 0 ? [ENV.connectionsEndpoint] : []),
    ...entry.settings.map(variableOf),
  ];
}

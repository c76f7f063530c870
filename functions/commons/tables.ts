/**
 * Key schemas of swarmcast's tables: the single source the CDK stack and the local
 * stack both build their tables from, and the attribute names the handlers use.
 */
export type KeyType = 'S' | 'N';
export interface KeyAttribute {
  name: string;
  type: KeyType;
}
export interface IndexSchema {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  /** Attributes copied into the index besides the keys. */
  nonKeyAttributes: string[];
}
export interface TableSchema {
  /** Logical name: the CDK construct id and the local table name. */
  logicalName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  timeToLiveAttribute?: string;
  globalSecondaryIndexes: IndexSchema[];
}

/**
 * One row per open socket, keyed by its partition (functions/commons/partitions.ts: a hash of the
 * connection id, so $connect is one PutItem and $disconnect one DeleteItem, both by key) and sorted
 * by the id: a broadcast's Query reads one partition from the table itself, with consistent reads.
 * No index and no counters: a GSI would double every write and read only eventually consistently.
 */
export const connectionsTable = {
  logicalName: 'Connections',
  partitionKey: { name: 'partition', type: 'N' },
  sortKey: { name: 'connectionId', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  globalSecondaryIndexes: [],
} as const satisfies TableSchema;

/**
 * Several items per broadcast or sweep (`item`): its message, its plan and small counter items,
 * so no write during delivery pays for the message (see broadcasts/items.ts).
 */
export const broadcastsTable = {
  logicalName: 'Broadcasts',
  partitionKey: { name: 'broadcastId', type: 'S' },
  sortKey: { name: 'item', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  globalSecondaryIndexes: [],
} as const satisfies TableSchema;

/**
 * The account's delivery budget (functions/commons/rate-budget.ts): one small item per budget,
 * written once per lease. A table of its own rather than a key in Broadcasts or Connections: those
 * are scanned, reworked and sized for other access patterns, and the consumers need write access
 * to this one item's table only for the budget.
 */
export const rateBudgetTable = {
  logicalName: 'RateBudget',
  partitionKey: { name: 'budget', type: 'S' },
  globalSecondaryIndexes: [],
} as const satisfies TableSchema;

/**
 * Channel memberships (functions/commons/memberships.ts, docs/channels.md): one item per socket
 * and channel, keyed by "channel#p" (p: the connection id's hash over the channel partition
 * count) and sorted by the id, so a channel broadcast Queries only its members, one key per map
 * item, and no key of a large channel takes more than its share of the 1,000 writes/s a key allows.
 */
export const subscriptionsTable = {
  logicalName: 'Subscriptions',
  partitionKey: { name: 'channelPartition', type: 'S' },
  sortKey: { name: 'connectionId', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  globalSecondaryIndexes: [],
} as const satisfies TableSchema;

export const allTables: readonly TableSchema[] = [
  connectionsTable,
  broadcastsTable,
  rateBudgetTable,
  subscriptionsTable,
];

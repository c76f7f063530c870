/**
 * Connection rows in DynamoDB: a socket registered and removed by its key (partition, id), and a
 * partition's connection ids read for a broadcast or a sweep. A row names the channels the socket
 * is in; their membership items (memberships.ts) leave with it.
 */
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDb } from '#commons/clients/dynamodb';
import { forEachWithConcurrency } from '#commons/helpers/concurrency';
import { partitionOf } from '#commons/partitions';
import {
  channelsOf,
  deleteMemberships,
  type MembershipTables,
  ROW_ALLOWED_CHANNELS,
  ROW_CHANNELS,
  writeMemberships,
} from '#commons/memberships';
import { connectionsTable } from '#commons/tables';

const PARTITION = connectionsTable.partitionKey.name;
const CONNECTION_ID = connectionsTable.sortKey.name;
const EXPIRES_AT = connectionsTable.timeToLiveAttribute;

/** The Connections table's name, as the handlers get it. */
export interface ConnectionTables {
  connections: string;
  /** Where the rows' channel memberships live; absent only where no row can name a channel. */
  memberships?: MembershipTables;
}

export interface ConnectionRow {
  partition: number;
  connectionId: string;
  connectedAt: number;
  expiresAt: number;
}

/**
 * $connect: one PutItem, in the partition the id hashes to; with channels (already checked), the
 * row names them first and one membership item per channel follows (memberships.ts: that order).
 */
export async function registerConnection(
  tables: ConnectionTables,
  {
    connectionId,
    partitionCount,
    ttlSeconds,
    channels = [],
    allowedChannels,
    now = Date.now(),
  }: {
    connectionId: string;
    partitionCount: number;
    ttlSeconds: number;
    channels?: readonly string[];
    /** The authorizer's patterns: later subscribes are checked against them. */
    allowedChannels?: readonly string[];
    now?: number;
  },
): Promise<ConnectionRow> {
  const row: ConnectionRow = {
    partition: partitionOf(connectionId, partitionCount),
    connectionId,
    connectedAt: now,
    expiresAt: Math.floor(now / 1000) + ttlSeconds,
  };
  // A DynamoDB set cannot be empty: no channel, no attribute.
  const item = {
    ...row,
    ...(channels.length > 0 && { [ROW_CHANNELS]: new Set(channels) }),
    ...(allowedChannels !== undefined && { [ROW_ALLOWED_CHANNELS]: [...allowedChannels] }),
  };
  await dynamoDb.send(new PutCommand({ TableName: tables.connections, Item: item }));
  if (channels.length > 0) {
    await writeMemberships(requireMemberships(tables), connectionId, channels, row.expiresAt);
  }
  return row;
}

function requireMemberships(tables: ConnectionTables): MembershipTables {
  if (!tables.memberships) throw new Error('a connection with channels needs the Subscriptions table');
  return tables.memberships;
}

/**
 * $disconnect: one DeleteItem, its key recomputed from the id, then the memberships the deleted
 * row named (none: nothing more). A row written under another partition count is missed here;
 * the next broadcast's 410 or the TTL removes it.
 */
export async function unregisterConnection(
  tables: ConnectionTables,
  connectionId: string,
  partitionCount: number,
): Promise<void> {
  await deleteConnection(tables, partitionOf(connectionId, partitionCount), connectionId);
}

/**
 * Deletes gone connections (a 410, a sweep, an expired row), each in `partition` (a number, or
 * the id's own partition for ids read from a channel), with their memberships and, for a channel
 * broadcast's 410, that channel's item (an orphan no row names); returns how many rows went. A
 * failed delete is left for the next sweep or the TTL, then rethrown.
 */
export async function removeConnections(
  tables: ConnectionTables,
  partition: number | ((connectionId: string) => number),
  connectionIds: readonly string[],
  { channel, concurrency = 16 }: { channel?: string; concurrency?: number } = {},
): Promise<number> {
  let removed = 0;
  await forEachWithConcurrency(connectionIds, concurrency, async (connectionId) => {
    await deleteConnection(
      tables,
      typeof partition === 'number' ? partition : partition(connectionId),
      connectionId,
      channel,
    );
    removed++;
  });
  return removed;
}

async function deleteConnection(
  tables: ConnectionTables,
  partition: number,
  connectionId: string,
  alsoChannel?: string,
): Promise<void> {
  const { Attributes } = await dynamoDb.send(
    new DeleteCommand({
      TableName: tables.connections,
      Key: { [PARTITION]: partition, [CONNECTION_ID]: connectionId },
      ReturnValues: 'ALL_OLD',
    }),
  );
  const channels = new Set(channelsOf(Attributes));
  if (alsoChannel !== undefined) channels.add(alsoChannel);
  if (channels.size > 0) await deleteMemberships(requireMemberships(tables), connectionId, channels);
}

export interface PartitionConnections {
  live: string[];
  expired: string[];
}

/**
 * All connection ids of one partition, page by page (a Query page stops at 1 MB), read with
 * consistent reads so a socket that connected before the broadcast started is in it.
 * Rows past their TTL are split out: DynamoDB deletes them up to ~2 days late.
 */
export async function queryPartition(
  connectionsTableName: string,
  partition: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<PartitionConnections> {
  const result: PartitionConnections = { live: [], expired: [] };
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamoDb.send(
      new QueryCommand({
        TableName: connectionsTableName,
        KeyConditionExpression: '#p = :partition',
        ExpressionAttributeNames: { '#p': PARTITION, '#id': CONNECTION_ID, '#exp': EXPIRES_AT },
        ExpressionAttributeValues: { ':partition': partition },
        ProjectionExpression: '#id, #exp',
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    for (const row of page.Items ?? []) {
      const expiresAt = row[EXPIRES_AT] as number | undefined;
      (expiresAt !== undefined && expiresAt < nowSeconds ? result.expired : result.live).push(
        row[CONNECTION_ID] as string,
      );
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return result;
}

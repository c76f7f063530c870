/**
 * Connection rows in DynamoDB: a socket registered and removed by its key (partition, id), and a
 * partition's connection ids read for a broadcast or a sweep.
 */
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDb } from '#commons/clients/dynamodb';
import { forEachWithConcurrency } from '#commons/helpers/concurrency';
import { partitionOf } from '#commons/partitions';
import { connectionsTable } from '#commons/tables';

const PARTITION = connectionsTable.partitionKey.name;
const CONNECTION_ID = connectionsTable.sortKey.name;
const EXPIRES_AT = connectionsTable.timeToLiveAttribute;

/** The Connections table's name, as the handlers get it. */
export interface ConnectionTables {
  connections: string;
}

export interface ConnectionRow {
  partition: number;
  connectionId: string;
  connectedAt: number;
  expiresAt: number;
}

/** $connect: one PutItem, in the partition the id hashes to. */
export async function registerConnection(
  tables: ConnectionTables,
  {
    connectionId,
    partitionCount,
    ttlSeconds,
    now = Date.now(),
  }: { connectionId: string; partitionCount: number; ttlSeconds: number; now?: number },
): Promise<ConnectionRow> {
  const row: ConnectionRow = {
    partition: partitionOf(connectionId, partitionCount),
    connectionId,
    connectedAt: now,
    expiresAt: Math.floor(now / 1000) + ttlSeconds,
  };
  await dynamoDb.send(new PutCommand({ TableName: tables.connections, Item: row }));
  return row;
}

/**
 * $disconnect: one DeleteItem, its key recomputed from the id. A row written under another
 * partition count is missed here; the next broadcast's 410 or the TTL removes it.
 */
export async function unregisterConnection(
  tables: ConnectionTables,
  connectionId: string,
  partitionCount: number,
): Promise<void> {
  await dynamoDb.send(
    new DeleteCommand({
      TableName: tables.connections,
      Key: { [PARTITION]: partitionOf(connectionId, partitionCount), [CONNECTION_ID]: connectionId },
    }),
  );
}

/**
 * Deletes gone connections of one partition (a 410, a sweep, an expired row); returns how many
 * deletes went through. A failed delete is left for the next sweep or the TTL, then rethrown.
 */
export async function removeConnections(
  tables: ConnectionTables,
  partition: number,
  connectionIds: readonly string[],
  concurrency = 16,
): Promise<number> {
  let removed = 0;
  await forEachWithConcurrency(connectionIds, concurrency, async (connectionId) => {
    await dynamoDb.send(
      new DeleteCommand({
        TableName: tables.connections,
        Key: { [PARTITION]: partition, [CONNECTION_ID]: connectionId },
      }),
    );
    removed++;
  });
  return removed;
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

/**
 * Connection rows in DynamoDB: a socket registered and removed with its partition's counter kept
 * in step, and a partition's connection ids read for a broadcast or a sweep.
 */
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDb } from '#commons/clients/dynamodb';
import { forEachWithConcurrency } from '#commons/helpers/concurrency';
import { adjustConnectionCount, choosePartition } from '#commons/partitions';
import { connectionsTable } from '#commons/tables';

const CONNECTION_ID = connectionsTable.partitionKey.name;
const EXPIRES_AT = connectionsTable.timeToLiveAttribute;
const [BY_PARTITION] = connectionsTable.globalSecondaryIndexes;

export interface ConnectionTables {
  connections: string;
  partitions: string;
}

export interface ConnectionRow {
  connectionId: string;
  partition: number;
  connectedAt: number;
  expiresAt: number;
}

export async function registerConnection(
  tables: ConnectionTables,
  { connectionId, partitionCount, ttlSeconds, now = Date.now() }: { connectionId: string; partitionCount: number; ttlSeconds: number; now?: number },
): Promise<ConnectionRow> {
  const partition = await choosePartition(tables.partitions, partitionCount);
  const row: ConnectionRow = { connectionId, partition, connectedAt: now, expiresAt: Math.floor(now / 1000) + ttlSeconds };
  await dynamoDb.send(new PutCommand({ TableName: tables.connections, Item: row }));
  await adjustConnectionCount(tables.partitions, partition, 1);
  return row;
}

/**
 * Removes one connection by its key (O(1): no scan, no query) and decrements its
 * partition only if the row was still there, so a repeated $disconnect or a sweep
 * racing it cannot drive the counter below the truth.
 */
export async function unregisterConnection(tables: ConnectionTables, connectionId: string): Promise<boolean> {
  const { Attributes } = await dynamoDb.send(
    new DeleteCommand({ TableName: tables.connections, Key: { [CONNECTION_ID]: connectionId }, ReturnValues: 'ALL_OLD' }),
  );
  if (!Attributes) return false;
  await adjustConnectionCount(tables.partitions, Attributes.partition as number, -1);
  return true;
}

/**
 * Deletes gone connections of one partition and decrements its counter by the rows really
 * removed — also when some deletes failed (those are left for the next sweep, then rethrown).
 */
export async function removeConnections(tables: ConnectionTables, partition: number, connectionIds: readonly string[], concurrency = 16): Promise<number> {
  let removed = 0;
  let failure: unknown;
  try {
    await forEachWithConcurrency(connectionIds, concurrency, async (connectionId) => {
      const { Attributes } = await dynamoDb.send(
        new DeleteCommand({ TableName: tables.connections, Key: { [CONNECTION_ID]: connectionId }, ReturnValues: 'ALL_OLD' }),
      );
      if (Attributes) removed++;
    });
  } catch (error) {
    failure = error;
  }
  await adjustConnectionCount(tables.partitions, partition, -removed);
  if (failure) throw failure;
  return removed;
}

export interface PartitionConnections {
  live: string[];
  expired: string[];
}

/**
 * All connection ids of one partition, page by page (a Query page stops at 1 MB).
 * Rows past their TTL are split out: DynamoDB deletes them up to ~2 days late.
 */
export async function queryPartition(connectionsTableName: string, partition: number, nowSeconds = Math.floor(Date.now() / 1000)): Promise<PartitionConnections> {
  const result: PartitionConnections = { live: [], expired: [] };
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamoDb.send(
      new QueryCommand({
        TableName: connectionsTableName,
        IndexName: BY_PARTITION.indexName,
        KeyConditionExpression: '#p = :partition',
        ExpressionAttributeNames: { '#p': BY_PARTITION.partitionKey.name, '#id': CONNECTION_ID, '#exp': EXPIRES_AT },
        ExpressionAttributeValues: { ':partition': partition },
        ProjectionExpression: '#id, #exp',
        ExclusiveStartKey,
      }),
    );
    for (const row of page.Items ?? []) {
      const expiresAt = row[EXPIRES_AT] as number | undefined;
      (expiresAt !== undefined && expiresAt < nowSeconds ? result.expired : result.live).push(row[CONNECTION_ID] as string);
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return result;
}

/**
 * The partitions' connection counters: which partition a new connection joins (the less loaded of
 * two random ones), and how the counters follow connects, disconnects and sweeps.
 */
import { BatchGetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDb } from '#commons/clients/dynamodb';
import { partitionsTable } from '#commons/tables';

const PARTITION = partitionsTable.partitionKey.name;
/** Attribute of a partition row holding its live connection count. */
export const CONNECTION_COUNT = 'connections';

/** Two distinct random partitions out of `partitionCount`. */
export function twoRandomPartitions(partitionCount: number, random: () => number = Math.random): [number, number] {
  const first = Math.floor(random() * partitionCount);
  if (partitionCount === 1) return [first, first];
  const second = (first + 1 + Math.floor(random() * (partitionCount - 1))) % partitionCount;
  return [first, second];
}

/**
 * "The better of two random choices": pick the less loaded of two random partitions.
 * Reading two counters instead of all of them keeps a connect O(1), and the largest
 * partition stays within a few connections of the mean (power of two choices).
 */
export function lessLoaded([first, second]: [number, number], counts: ReadonlyMap<number, number>, random: () => number = Math.random): number {
  const a = counts.get(first) ?? 0;
  const b = counts.get(second) ?? 0;
  if (a === b) return random() < 0.5 ? first : second;
  return a < b ? first : second;
}

export async function readConnectionCounts(tableName: string, partitions: readonly number[]): Promise<Map<number, number>> {
  const unique = [...new Set(partitions)];
  const { Responses } = await dynamoDb.send(
    new BatchGetCommand({
      RequestItems: { [tableName]: { Keys: unique.map((partition) => ({ [PARTITION]: partition })), ProjectionExpression: '#p, #c', ExpressionAttributeNames: { '#p': PARTITION, '#c': CONNECTION_COUNT } } },
    }),
  );
  // A partition missing from the response (never used, or unprocessed under throttling) counts as empty:
  // at worst one connect lands on a slightly fuller partition.
  return new Map((Responses?.[tableName] ?? []).map((row) => [row[PARTITION] as number, (row[CONNECTION_COUNT] as number) ?? 0]));
}

export async function choosePartition(tableName: string, partitionCount: number): Promise<number> {
  const candidates = twoRandomPartitions(partitionCount);
  return lessLoaded(candidates, await readConnectionCounts(tableName, candidates));
}

export async function adjustConnectionCount(tableName: string, partition: number, delta: number): Promise<void> {
  if (delta === 0) return;
  await dynamoDb.send(
    new UpdateCommand({
      TableName: tableName,
      Key: { [PARTITION]: partition },
      UpdateExpression: 'ADD #c :delta',
      ExpressionAttributeNames: { '#c': CONNECTION_COUNT },
      ExpressionAttributeValues: { ':delta': delta },
    }),
  );
}

/** The sweep's repair: the counter becomes the true number of live rows. */
export async function setConnectionCount(tableName: string, partition: number, count: number): Promise<void> {
  await dynamoDb.send(
    new UpdateCommand({
      TableName: tableName,
      Key: { [PARTITION]: partition },
      UpdateExpression: 'SET #c = :count',
      ExpressionAttributeNames: { '#c': CONNECTION_COUNT },
      ExpressionAttributeValues: { ':count': count },
    }),
  );
}

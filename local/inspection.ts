/**
 * Reading a local stack's tables from outside it: the rows of a partition, a broadcast's enqueued
 * counts. The integration tests and the fault matrix inspect what a run left behind with these.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS } from '../lib/local-account';
import type { LocalStack } from './stack';
import { partitionOf } from '../functions/commons/partitions';

/** Every row of a table, page by page. */
export async function scanAll(dynamo: DynamoDBDocumentClient, tableName: string): Promise<Record<string, any>[]> {
  const rows: Record<string, any>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey }));
    rows.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return rows;
}

/** Partition → connection rows, and the rows that are not in the partition their id hashes to. */
export async function connectionRows(dynamo: DynamoDBDocumentClient, stack: Pick<LocalStack, 'tableNames' | 'config'>) {
  const rows = new Map<number, number>();
  const misplaced: string[] = [];
  for (const row of await scanAll(dynamo, stack.tableNames.Connections)) {
    rows.set(row.partition, (rows.get(row.partition) ?? 0) + 1);
    if (row.partition !== partitionOf(row.connectionId, stack.config.partitions)) misplaced.push(row.connectionId);
  }
  return { rows, misplaced };
}

/** A document client on the local stack's DynamoDB, for tests that plant or inspect rows. */
export function localDynamo(stack: Pick<LocalStack, 'dynamoDbEndpoint' | 'region'>): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.dynamoDbEndpoint, region: stack.region, credentials: LOCAL_CREDENTIALS }),
  );
}

/** Connections enqueued per partition ("p<partition>" → count), from a broadcast's enqueued-count items. */
export async function enqueuedCounts(
  dynamo: DynamoDBDocumentClient,
  tableName: string,
  broadcastId: string,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'broadcastId = :id AND begins_with(#item, :prefix)',
        ExpressionAttributeNames: { '#item': 'item' },
        ExpressionAttributeValues: { ':id': broadcastId, ':prefix': 'count#enqueued#' },
        ExclusiveStartKey,
      }),
    );
    for (const row of page.Items ?? [])
      for (const [name, value] of Object.entries(row)) if (/^p\d+$/.test(name)) counts[name] = value as number;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return counts;
}

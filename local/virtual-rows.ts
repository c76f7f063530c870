/**
 * Connection rows for the gateway's virtual connections, written straight into the local
 * tables: the rows $connect would have written, without a socket or a handshake each. The bench
 * and the tests use them for sizes no socket swarm on this machine reaches quickly.
 */
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AWS_LIMITS } from '../functions/commons/aws-limits';
import { forEachWithConcurrency } from '../functions/commons/helpers/concurrency';
import { partitionOf } from '../functions/commons/partitions';
import { LOCAL_CREDENTIALS } from '../lib/local-account';
import type { LocalStack } from './stack';

/** Writes in flight against dynalite: more only queue inside it. */
const WRITE_CONCURRENCY = 8;

/**
 * Seeds virtual connections 0..count-1, connection n in partition `partitionFor(n)` (by default
 * the partition its id hashes to, where $connect would put it). Returns the milliseconds it took.
 */
export async function seedVirtualConnections(
  stack: Pick<LocalStack, 'dynamoDbEndpoint' | 'region' | 'tableNames' | 'config' | 'gateway'>,
  count: number,
  partitionFor: (n: number) => number = (n) =>
    partitionOf(stack.gateway.virtualConnectionId(n), stack.config.partitions),
): Promise<number> {
  const started = Date.now();
  const dynamo = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.dynamoDbEndpoint, region: stack.region, credentials: LOCAL_CREDENTIALS }),
  );
  const { Connections } = stack.tableNames;
  const batchSize = AWS_LIMITS.dynamoDbBatchWriteItems.value;
  try {
    const now = Date.now();
    const expiresAt = Math.floor(now / 1000) + stack.config.connectionTtlSeconds;
    const batches = Array.from({ length: Math.ceil(count / batchSize) }, (_, b) => b);
    await forEachWithConcurrency(batches, WRITE_CONCURRENCY, async (b) => {
      let items = Array.from({ length: Math.min(batchSize, count - b * batchSize) }, (_, i) => {
        const n = b * batchSize + i;
        return {
          PutRequest: {
            Item: {
              partition: partitionFor(n),
              connectionId: stack.gateway.virtualConnectionId(n),
              connectedAt: now,
              expiresAt,
            },
          },
        };
      });
      while (items.length > 0) {
        const { UnprocessedItems } = await dynamo.send(
          new BatchWriteCommand({ RequestItems: { [Connections]: items } }),
        );
        items = (UnprocessedItems?.[Connections] ?? []) as typeof items;
      }
    });
  } finally {
    dynamo.destroy();
  }
  return Date.now() - started;
}

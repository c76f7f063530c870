import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CONNECTION_COUNT } from '#commons/partitions';
import { connectionsTable, partitionsTable } from '#commons/tables';

/**
 * A connection row that expires was never `$disconnect`ed, so its partition still counts it.
 * On AWS the stale count is repaired by the sweep; locally the reaper knows exactly which rows
 * it deleted, so it takes them off Partitions[partition].connections at once.
 */
export async function decrementPartitionCounters(client: DynamoDBDocumentClient, partitionsTableName: string, reapedConnections: Record<string, unknown>[]): Promise<void> {
  const partitionKey = connectionsTable.globalSecondaryIndexes[0].partitionKey.name;
  const reapedPerPartition = new Map<number, number>();
  for (const row of reapedConnections) {
    const partition = Number(row[partitionKey]);
    if (Number.isInteger(partition)) reapedPerPartition.set(partition, (reapedPerPartition.get(partition) ?? 0) + 1);
  }
  await Promise.all(
    [...reapedPerPartition].map(async ([partition, reaped]) => {
      try {
        await client.send(
          new UpdateCommand({
            TableName: partitionsTableName,
            Key: { [partitionsTable.partitionKey.name]: partition },
            UpdateExpression: 'ADD #connections :reaped',
            // ADD on a missing row would create a negative counter out of nothing.
            ConditionExpression: 'attribute_exists(#partition)',
            ExpressionAttributeNames: { '#connections': CONNECTION_COUNT, '#partition': partitionsTable.partitionKey.name },
            ExpressionAttributeValues: { ':reaped': -reaped },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }),
  );
}

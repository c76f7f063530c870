/**
 * The failed-socket items: the ids a delivery task gave up on, kept for a failed-sockets replay,
 * which takes them over (a negative count item) and removes them once they are queued again.
 */
import { createHash, randomUUID } from 'node:crypto';
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamoDb } from '#commons/clients/dynamodb';
import { retryWithBackoff } from '#commons/helpers/retry';
import type { FailureCounts, FailureReason } from '#commons/broadcasts/failure-reasons';
import {
  BROADCAST_ID,
  expiresAt,
  failedByAttribute,
  failedSocketsPrefix,
  ITEM,
  key,
  retakenCountItem,
} from '#commons/broadcasts/items';

/**
 * Keeps the ids one delivery task gave up on, for a replay: one PutItem of a small item keyed by
 * the ids themselves, so SQS delivering the task again overwrites it instead of adding another.
 * `writeId` tells this write from a later one of the same ids (see takeOverFailedSockets).
 */
export async function recordFailedSockets(
  tableName: string,
  broadcastId: string,
  partition: number,
  connectionIds: readonly string[],
  failedBy: FailureCounts,
  now = Date.now(),
): Promise<void> {
  const hash = createHash('sha256')
    .update([...connectionIds].sort().join(','))
    .digest('hex')
    .slice(0, 20);
  await retryWithBackoff(`the failed sockets of broadcast ${broadcastId}`, () =>
    dynamoDb.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...key(broadcastId, `${failedSocketsPrefix(partition)}${hash}`),
          connectionIds: [...connectionIds],
          failedBy,
          writeId: randomUUID(),
          failedAt: now,
          expiresAt: expiresAt(now),
        },
      }),
    ),
  );
}

export interface FailedSocketsItem {
  item: string;
  connectionIds: string[];
  failedBy: FailureCounts;
  writeId: string;
}

/** The failed-socket items of one partition (paginated Query). */
export async function readFailedSockets(
  tableName: string,
  broadcastId: string,
  partition: number,
): Promise<FailedSocketsItem[]> {
  const found: FailedSocketsItem[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await retryWithBackoff(`the failed sockets of broadcast ${broadcastId}`, () =>
      dynamoDb.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: '#id = :id AND begins_with(#item, :prefix)',
          ExpressionAttributeNames: { '#id': BROADCAST_ID, '#item': ITEM },
          ExpressionAttributeValues: { ':id': broadcastId, ':prefix': failedSocketsPrefix(partition) },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      ),
    );
    for (const row of page.Items ?? [])
      found.push({
        item: row[ITEM],
        connectionIds: row.connectionIds ?? [],
        failedBy: row.failedBy ?? {},
        writeId: row.writeId,
      });
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return found;
}

/**
 * A replay takes over one failed-socket item before it sends to its ids: a count item with the
 * item's failures as negative counts, keyed by the write it takes over (PUT: a retried child writes it once), which reopens
 * delivery for those sockets — the replay's consumers count them delivered, gone or failed anew.
 */
export async function retakeFailedSockets(
  tableName: string,
  broadcastId: string,
  failed: FailedSocketsItem,
  now = Date.now(),
): Promise<void> {
  const negative = Object.fromEntries(
    Object.entries(failed.failedBy).map(([reason, count]) => [
      failedByAttribute(reason as FailureReason),
      -(count as number),
    ]),
  );
  await retryWithBackoff(`the retaken counts of broadcast ${broadcastId}`, () =>
    dynamoDb.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...key(broadcastId, retakenCountItem(failed.writeId)),
          delivered: 0,
          gone: 0,
          failed: -failed.connectionIds.length,
          ...negative,
          expiresAt: expiresAt(now),
        },
      }),
    ),
  );
}

/**
 * Removes a taken-over item once its ids are on the queues, unless a consumer of the replay has
 * written it again meanwhile (the same ids failing again): that write is the replay's own.
 */
export async function removeFailedSockets(
  tableName: string,
  broadcastId: string,
  failed: FailedSocketsItem,
): Promise<void> {
  try {
    await dynamoDb.send(
      new DeleteCommand({
        TableName: tableName,
        Key: key(broadcastId, failed.item),
        ConditionExpression: 'writeId = :writeId',
        ExpressionAttributeValues: { ':writeId': failed.writeId },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

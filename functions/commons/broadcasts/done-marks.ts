/**
 * Done marks: one item per SQS message whose delivery task a consumer finished, so SQS delivering
 * the same message again (its delete was lost) sends nothing.
 */
import { BatchGetCommand, BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDb } from '#commons/clients/dynamodb';
import { AWS_LIMITS } from '#commons/aws-limits';
import { ThrottledError } from '#commons/errors';
import { retryUnprocessed, retryWithBackoff, THROTTLED_DYNAMODB_CALLS } from '#commons/helpers/retry';
import { DONE_PREFIX, doneItem, expiresAt, ITEM, key } from '#commons/broadcasts/items';

/** One SQS message's delivery task: the broadcast it belongs to and SQS's id for the message (the same on every receive). */
export interface TaskMessage {
  broadcastId: string;
  messageId: string;
}

const UNPROCESSED_TRIES = THROTTLED_DYNAMODB_CALLS.attempts;
const doneKey = ({ broadcastId, messageId }: TaskMessage) => key(broadcastId, doneItem(messageId));
const inChunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * The message ids of `messages` whose tasks a consumer already finished. Consistent reads in
 * BatchGetItem calls of at most 100 keys; keys DynamoDB left unprocessed are asked again.
 */
export async function findDoneTasks(tableName: string, messages: readonly TaskMessage[]): Promise<Set<string>> {
  const done = new Set<string>();
  for (const chunk of inChunks(messages, AWS_LIMITS.dynamoDbBatchGetKeys.value)) {
    const keys: Record<string, unknown>[] = chunk.map(doneKey);
    const left = await retryUnprocessed(keys, async (pending) => {
      const { Responses, UnprocessedKeys } = await retryWithBackoff(
        `the finished tasks of ${chunk.length} messages`,
        () =>
          dynamoDb.send(
            new BatchGetCommand({
              RequestItems: {
                [tableName]: {
                  Keys: [...pending],
                  ConsistentRead: true,
                  ProjectionExpression: '#item',
                  ExpressionAttributeNames: { '#item': ITEM },
                },
              },
            }),
          ),
      );
      for (const row of Responses?.[tableName] ?? []) done.add(String(row[ITEM]).slice(DONE_PREFIX.length));
      return UnprocessedKeys?.[tableName]?.Keys ?? [];
    });
    if (left.length > 0)
      throw new ThrottledError(
        `DynamoDB left ${left.length} finished-task keys unprocessed ${UNPROCESSED_TRIES} times`,
      );
  }
  return done;
}

/** Marks the tasks of `messages` finished: BatchWriteItem calls of at most 25 PUTs; unprocessed ones are sent again. */
export async function markTasksDone(
  tableName: string,
  messages: readonly TaskMessage[],
  now = Date.now(),
): Promise<void> {
  for (const chunk of inChunks(messages, AWS_LIMITS.dynamoDbBatchWriteItems.value)) {
    const requests: Record<string, unknown>[] = chunk.map((message) => ({
      PutRequest: { Item: { ...doneKey(message), doneAt: now, expiresAt: expiresAt(now) } },
    }));
    const left = await retryUnprocessed(requests, async (pending) => {
      const { UnprocessedItems } = await retryWithBackoff(`the finished marks of ${chunk.length} tasks`, () =>
        dynamoDb.send(new BatchWriteCommand({ RequestItems: { [tableName]: [...pending] } })),
      );
      return UnprocessedItems?.[tableName] ?? [];
    });
    if (left.length > 0)
      throw new ThrottledError(`DynamoDB left ${left.length} finished marks unprocessed ${UNPROCESSED_TRIES} times`);
  }
}

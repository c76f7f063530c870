/**
 * A partition's claim item: which fan-out run's tasks deliver to it, so a task of another run (a
 * replay, redrive or retry that enqueued the partition again) is dropped unsent.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamoDb } from '#commons/clients/dynamodb';
import { retryWithBackoff } from '#commons/helpers/retry';
import { BROADCAST_ID, claimItem, expiresAt, key } from '#commons/broadcasts/items';

const claimKey = (broadcastId: string, partition: number) => key(broadcastId, claimItem(partition));

/**
 * Whether tasks of fan-out run `run` may deliver to `partition`: yes if no run has claimed it (it
 * is then claimed for this one), if this run holds the claim, or if the run holding it was
 * abandoned (some of its tasks never reached a queue) and this is another run. One conditional
 * PutItem (~1 WCU) per partition and container; the rare refusal costs a GetItem more.
 */
export async function claimPartition(
  tableName: string,
  broadcastId: string,
  partition: number,
  run: string,
  now = Date.now(),
): Promise<boolean> {
  try {
    await retryWithBackoff(`the claim of partition ${partition} of broadcast ${broadcastId}`, () =>
      dynamoDb.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...claimKey(broadcastId, partition), run, expiresAt: expiresAt(now) },
          ConditionExpression:
            'attribute_not_exists(#id) OR (#run = :run AND attribute_not_exists(abandoned)) OR (#run <> :run AND abandoned = :true)',
          ExpressionAttributeNames: { '#id': BROADCAST_ID, '#run': 'run' },
          ExpressionAttributeValues: { ':run': run, ':true': true },
        }),
      ),
    );
    return true;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  // Refused: either another live run holds it, or this very run holds it abandoned (its tasks that
  // did go out still deliver until another run takes the partition over).
  const { Item } = await dynamoDb.send(
    new GetCommand({ TableName: tableName, Key: claimKey(broadcastId, partition), ConsistentRead: true }),
  );
  return Item?.run === run;
}

/**
 * Marks a run whose tasks of `partition` did not all reach a queue: the partition fails and a
 * replay's run may take it over (claimPartition). Only while no other run holds it.
 */
export async function abandonRun(
  tableName: string,
  broadcastId: string,
  partition: number,
  run: string,
  now = Date.now(),
): Promise<void> {
  try {
    await dynamoDb.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...claimKey(broadcastId, partition), run, abandoned: true, expiresAt: expiresAt(now) },
        ConditionExpression: 'attribute_not_exists(#id) OR #run = :run',
        ExpressionAttributeNames: { '#id': BROADCAST_ID, '#run': 'run' },
        ExpressionAttributeValues: { ':run': run },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** The failed-socket items a consumer keeps and a failed-sockets replay takes over (functions/commons/broadcasts.ts). */
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { recordFailedSockets, removeFailedSockets, retakeFailedSockets, type FailedSocketsItem } from '#commons/broadcasts';

const dynamo = mockClient(DynamoDBDocumentClient);
beforeEach(() => dynamo.reset());

const puts = () => dynamo.commandCalls(PutCommand).map((call) => call.args[0].input);

test('the same ids in any order are one item of their partition (SQS delivering a task twice overwrites it), with a write id and the broadcast expiry', async () => {
  await recordFailedSockets('Broadcasts', 'b-1', 7, ['c', 'a', 'b'], { deadline: 3 }, 1_000_000);
  await recordFailedSockets('Broadcasts', 'b-1', 7, ['a', 'b', 'c'], { deadline: 3 }, 1_000_000);
  await recordFailedSockets('Broadcasts', 'b-1', 7, ['a', 'b'], { forbidden: 2 }, 1_000_000);

  const [first, again, other] = puts().map((input) => input.Item!);
  expect(first.item).toMatch(/^failed#p00007#[0-9a-f]{20}$/);
  expect(again.item).toBe(first.item);
  expect(other.item).not.toBe(first.item);
  expect(first).toMatchObject({ broadcastId: 'b-1', connectionIds: ['c', 'a', 'b'], failedBy: { deadline: 3 }, expiresAt: 1_000 + 15 * 24 * 60 * 60 });
  expect(again.writeId).not.toBe(first.writeId);
  expect(puts().every((input) => input.ConditionExpression === undefined && input.TableName === 'Broadcasts')).toBe(true);
});

test('taking an item over writes its failures as negative counts, keyed by the write it takes over (once, whatever the retries)', async () => {
  const failed: FailedSocketsItem = { item: 'failed#p00007#abc', connectionIds: ['a', 'b', 'c'], failedBy: { deadline: 2, forbidden: 1 }, writeId: 'w-1' };
  await retakeFailedSockets('Broadcasts', 'b-1', failed, 1_000_000);
  await retakeFailedSockets('Broadcasts', 'b-1', failed, 1_000_000);

  const [first, retried] = puts().map((input) => input.Item!);
  expect(first).toEqual({ broadcastId: 'b-1', item: 'count#delivered#retaken#w-1', delivered: 0, gone: 0, failed: -3, failed_deadline: -2, failed_forbidden: -1, expiresAt: 1_000 + 15 * 24 * 60 * 60 });
  expect(retried).toEqual(first);
});

test('removing an item is conditional on its write id: a rewrite by the replay\'s own consumers is kept, silently', async () => {
  dynamo.on(DeleteCommand).rejectsOnce(new ConditionalCheckFailedException({ message: 'changed', $metadata: {} }));
  const failed: FailedSocketsItem = { item: 'failed#p00007#abc', connectionIds: ['a'], failedBy: { forbidden: 1 }, writeId: 'w-1' };

  await expect(removeFailedSockets('Broadcasts', 'b-1', failed)).resolves.toBeUndefined();
  expect(dynamo.commandCalls(DeleteCommand)[0].args[0].input).toMatchObject({
    Key: { broadcastId: 'b-1', item: 'failed#p00007#abc' },
    ConditionExpression: 'writeId = :writeId',
    ExpressionAttributeValues: { ':writeId': 'w-1' },
  });
});

/** The failed-socket items a consumer keeps and a failed-sockets replay takes over (functions/commons/broadcasts/failed-sockets.ts, functions/commons/partition-fan-out.ts). */
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DeleteCommand,
  type DeleteCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  readFailedSockets,
  recordFailedSockets,
  removeFailedSockets,
  retakeFailedSockets,
  type FailedSocketsItem,
} from '#commons/broadcasts/failed-sockets';
import { fanOutPartitions, type FanOutSettings } from '#commons/partition-fan-out';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
beforeEach(() => {
  dynamo.reset();
  sqs.reset();
});

const puts = () => dynamo.commandCalls(PutCommand).map((call) => call.args[0].input);

test('the same ids in any order are one item of their partition (SQS delivering a task twice overwrites it), with a write id and the broadcast expiry', async () => {
  await recordFailedSockets('Broadcasts', 'b-1', 7, ['c', 'a', 'b'], { deadline: 3 }, 1_000_000);
  await recordFailedSockets('Broadcasts', 'b-1', 7, ['a', 'b', 'c'], { deadline: 3 }, 1_000_000);
  await recordFailedSockets('Broadcasts', 'b-1', 7, ['a', 'b'], { forbidden: 2 }, 1_000_000);

  const [first, again, other] = puts().map((input) => input.Item!);
  expect(first.item).toMatch(/^failed#p00007#[0-9a-f]{20}$/);
  expect(again.item).toBe(first.item);
  expect(other.item).not.toBe(first.item);
  expect(first).toMatchObject({
    broadcastId: 'b-1',
    connectionIds: ['c', 'a', 'b'],
    failedBy: { deadline: 3 },
    expiresAt: 1_000 + 15 * 24 * 60 * 60,
  });
  expect(again.writeId).not.toBe(first.writeId);
  expect(puts().every((input) => input.ConditionExpression === undefined && input.TableName === 'Broadcasts')).toBe(
    true,
  );
});

test('taking an item over writes its failures as negative counts, keyed by the write it takes over (once, whatever the retries)', async () => {
  const failed: FailedSocketsItem = {
    item: 'failed#p00007#abc',
    connectionIds: ['a', 'b', 'c'],
    failedBy: { deadline: 2, forbidden: 1 },
    writeId: 'w-1',
  };
  await retakeFailedSockets('Broadcasts', 'b-1', failed, 1_000_000);
  await retakeFailedSockets('Broadcasts', 'b-1', failed, 1_000_000);

  const [first, retried] = puts().map((input) => input.Item!);
  expect(first).toEqual({
    broadcastId: 'b-1',
    item: 'count#delivered#retaken#w-1',
    delivered: 0,
    gone: 0,
    failed: -3,
    failed_deadline: -2,
    failed_forbidden: -1,
    expiresAt: 1_000 + 15 * 24 * 60 * 60,
  });
  expect(retried).toEqual(first);
});

test("removing an item is conditional on its write id: a rewrite by the replay's own consumers is kept, silently", async () => {
  dynamo.on(DeleteCommand).rejectsOnce(new ConditionalCheckFailedException({ message: 'changed', $metadata: {} }));
  const failed: FailedSocketsItem = {
    item: 'failed#p00007#abc',
    connectionIds: ['a'],
    failedBy: { forbidden: 1 },
    writeId: 'w-1',
  };

  await expect(removeFailedSockets('Broadcasts', 'b-1', failed)).resolves.toBeUndefined();
  expect(dynamo.commandCalls(DeleteCommand)[0].args[0].input).toMatchObject({
    Key: { broadcastId: 'b-1', item: 'failed#p00007#abc' },
    ConditionExpression: 'writeId = :writeId',
    ExpressionAttributeValues: { ':writeId': 'w-1' },
  });
});

test("reading a partition's failed sockets follows every page: a partition's items can pass the 1 MB a Query page holds", async () => {
  // prepare: three pages
  const row = (n: number) => ({
    broadcastId: 'b-1',
    item: `failed#p00007#${n}`,
    connectionIds: [`c${n}`],
    failedBy: { deadline: 1 },
    writeId: `w-${n}`,
  });
  dynamo
    .on(QueryCommand)
    .resolvesOnce({ Items: [row(1)], LastEvaluatedKey: { broadcastId: 'b-1', item: 'failed#p00007#1' } })
    .resolvesOnce({ Items: [row(2)], LastEvaluatedKey: { broadcastId: 'b-1', item: 'failed#p00007#2' } })
    .resolves({ Items: [row(3)] });

  // act
  const found = await readFailedSockets('Broadcasts', 'b-1', 7);

  // assess
  expect(found.map((failed) => failed.connectionIds[0])).toEqual(['c1', 'c2', 'c3']);
  const starts = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input.ExclusiveStartKey);
  expect(starts).toEqual([
    undefined,
    { broadcastId: 'b-1', item: 'failed#p00007#1' },
    { broadcastId: 'b-1', item: 'failed#p00007#2' },
  ]);
});

describe('a failed-sockets replay (fanOutPartitions with resendFailedSockets)', () => {
  const settings: FanOutSettings = {
    tables: { connections: 'Connections', broadcasts: 'Broadcasts' },
    shardQueueUrls: ['q0'],
    connectionIdsPerMessage: 100,
    queryConcurrency: 4,
  };

  it('removes each failed-socket item once its ids are on a queue, so a second replay sends only to what the first could not deliver', async () => {
    // prepare: partition 7 was reached; two failed-socket items kept in a table the mock holds
    const table = new Map<string, Record<string, unknown>>([
      [
        'failed#p00007#a',
        {
          broadcastId: 'b-1',
          item: 'failed#p00007#a',
          connectionIds: ['x', 'y'],
          failedBy: { deadline: 2 },
          writeId: 'w-a',
        },
      ],
      [
        'failed#p00007#b',
        {
          broadcastId: 'b-1',
          item: 'failed#p00007#b',
          connectionIds: ['z'],
          failedBy: { slowReader: 1 },
          writeId: 'w-b',
        },
      ],
    ]);
    dynamo.on(GetCommand).resolves({ Item: { p7: 3 } });
    dynamo.on(QueryCommand).callsFake((input: QueryCommandInput) => ({
      Items: [...table.values()].filter((row) =>
        String(row.item).startsWith(String(input.ExpressionAttributeValues![':prefix'])),
      ),
    }));
    dynamo.on(DeleteCommand).callsFake((input: DeleteCommandInput) => {
      const row = table.get(String(input.Key!.item));
      if (row?.writeId === input.ExpressionAttributeValues![':writeId']) table.delete(String(input.Key!.item));
      return {};
    });
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
    const sentIds = () =>
      sqs
        .commandCalls(SendMessageBatchCommand)
        .flatMap((call) =>
          call.args[0].input.Entries!.flatMap((entry) => JSON.parse(entry.MessageBody!).connectionIds),
        );

    // act: two replays, nothing failing in between
    const first = await fanOutPartitions(settings, 'b-1', 'message', [7], { resendFailedSockets: true });
    const afterFirst = sentIds();
    const second = await fanOutPartitions(settings, 'b-1', 'message', [7], { resendFailedSockets: true });

    // assess
    expect(first.resent).toBe(3);
    expect(afterFirst.sort()).toEqual(['x', 'y', 'z']);
    expect(second.resent).toBe(0);
    expect(sentIds()).toHaveLength(3);
    expect(table.size).toBe(0);
  });
});

import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handler as queryPartitions } from '../../../../functions/query-partitions';
import { handler as readProgress } from '../../../../functions/read-progress';
import { DELIVERY_GRACE_MS, progressOf, type BroadcastState } from '#commons/broadcasts/progress';
import { answerUpdates } from '../../helpers/dynamodb-answers';
import { fanOutPartitions, type FanOutSettings } from '#commons/partition-fan-out';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const future = Math.floor(Date.now() / 1000) + 3_600;

beforeEach(() => {
  dynamo.reset();
  sqs.reset();
  sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
  answerUpdates(dynamo);
});

const enqueuedWrites = () =>
  dynamo
    .commandCalls(UpdateCommand)
    .map((c) => c.args[0].input)
    .filter((i) => i.TableName === 'Broadcasts' && i.Key!.item !== 'plan');

/** Partition attribute → count, over every enqueued-count write so far. */
const recordedCounts = () =>
  Object.fromEntries(
    enqueuedWrites().flatMap((w) =>
      Object.entries(w.ExpressionAttributeNames ?? {}).map(([name, attribute]) => [
        attribute,
        w.ExpressionAttributeValues![name.replace('#p', ':n')],
      ]),
    ),
  );

/** The partitions of the delivery tasks sent so far, in the order they were sent. */
const sentPartitions = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!).partition));

const settings: FanOutSettings = {
  tables: { connections: 'Connections', broadcasts: 'Broadcasts' },
  shardQueueUrls: ['https://sqs.local/1/shard-0', 'https://sqs.local/1/shard-1'],
  connectionIdsPerMessage: 100,
  queryConcurrency: 8,
};

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets the event loop turn until `done()` holds, at most `turns` times. */
async function until(done: () => boolean, turns = 200): Promise<void> {
  for (let turn = 0; turn < turns && !done(); turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe('query-partitions', () => {
  it('enqueues every connection of each partition and records the count per partition', async () => {
    dynamo.on(GetCommand).resolves({ Item: { broadcastId: 'b1', item: 'count#enqueued#0000' } });
    dynamo.on(QueryCommand, { ExpressionAttributeValues: { ':partition': 1 } }).resolves({
      Items: [
        { connectionId: 'a', expiresAt: future },
        { connectionId: 'b', expiresAt: future },
      ],
    });
    dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':partition': 2 } })
      .resolves({ Items: [{ connectionId: 'c', expiresAt: future }] });

    const result = await queryPartitions({ Items: [1, 2], BatchInput: { broadcastId: 'b1', kind: 'message' } });

    expect(result).toEqual({ broadcastId: 'b1', partitions: 2, alreadyEnqueued: 0, connections: 3 });
    const bodies = sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!)));
    expect(bodies.flatMap((b) => b.connectionIds).sort()).toEqual(['a', 'b', 'c']);
    expect(recordedCounts()).toEqual({ p1: 2, p2: 1 });
    const write = enqueuedWrites()[0];
    expect(write.Key).toEqual({ broadcastId: 'b1', item: 'count#enqueued#0000' });
    expect(write.UpdateExpression).toMatch(
      /^SET #p0 = :n0(, #p1 = :n1)?, firstEnqueuedAt = if_not_exists\(firstEnqueuedAt, :now\), lastEnqueuedAt = :now, expiresAt = :expiresAt$/,
    );
  });

  it('sends a partition as soon as its own query is done: a slow partition does not hold back another', async () => {
    dynamo.on(GetCommand).resolves({ Item: { broadcastId: 'b1', item: 'count#enqueued#0000' } });
    const slowQuery = deferred<{ Items: Record<string, unknown>[] }>();
    dynamo.on(QueryCommand, { ExpressionAttributeValues: { ':partition': 1 } }).callsFake(() => slowQuery.promise);
    dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':partition': 2 } })
      .resolves({ Items: [{ connectionId: 'c', expiresAt: future }] });

    const fanOut = fanOutPartitions(settings, 'b1', 'message', [1, 2]);

    await until(() => Object.keys(recordedCounts()).length > 0);
    expect(sentPartitions()).toEqual([2]);
    expect(recordedCounts()).toEqual({ p2: 1 });
    slowQuery.resolve({ Items: [{ connectionId: 'a', expiresAt: future }] });
    await expect(fanOut).resolves.toMatchObject({ partitions: 2, connections: 2 });
    expect(sentPartitions()).toEqual([2, 1]);
    expect(recordedCounts()).toEqual({ p1: 1, p2: 1 });
  });

  it('partitions whose queries end while a send is in flight share the next SendMessageBatch and count write', async () => {
    dynamo.on(GetCommand).resolves({ Item: { broadcastId: 'b1', item: 'count#enqueued#0000' } });
    dynamo.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: { ':partition': number } }) => ({
      Items: [{ connectionId: `c${input.ExpressionAttributeValues[':partition']}`, expiresAt: future }],
    }));
    const firstSend = deferred<{ Failed: [] }>();
    sqs
      .on(SendMessageBatchCommand)
      .callsFakeOnce(() => firstSend.promise)
      .resolves({ Failed: [] });

    const fanOut = fanOutPartitions(
      { ...settings, shardQueueUrls: ['https://sqs.local/1/shard-0'] },
      'b1',
      'message',
      [1, 2, 3],
    );

    await until(() => dynamo.commandCalls(QueryCommand).length === 3);
    await until(() => false, 20); // lets the other two queries end while the first send is held
    firstSend.resolve({ Failed: [] });
    await fanOut;
    const calls = sqs
      .commandCalls(SendMessageBatchCommand)
      .map((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!).partition));
    expect(calls).toEqual([[1], [2, 3]]);
    expect(enqueuedWrites().map((w) => Object.values(w.ExpressionAttributeNames!))).toEqual([['p1'], ['p2', 'p3']]);
  });

  it('skips partitions an earlier run already enqueued, so a re-run sends nothing twice', async () => {
    dynamo.on(GetCommand).resolves({ Item: { broadcastId: 'b1', item: 'count#enqueued#0000', p1: 2 } });
    dynamo.on(QueryCommand).resolves({ Items: [{ connectionId: 'c', expiresAt: future }] });

    const result = await queryPartitions({ Items: [1, 2], BatchInput: { broadcastId: 'b1', kind: 'message' } });

    expect(result).toMatchObject({ partitions: 1, alreadyEnqueued: 1 });
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(1);
  });

  it('a failing partition does not stop the others; the child then fails naming it', async () => {
    dynamo.on(GetCommand).resolves({ Item: { broadcastId: 'b1', item: 'count#enqueued#0000' } });
    dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':partition': 1 } })
      .rejects(new Error('ProvisionedThroughputExceeded'));
    dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':partition': 2 } })
      .resolves({ Items: [{ connectionId: 'c', expiresAt: future }] });

    await expect(
      queryPartitions({ Items: [1, 2], BatchInput: { broadcastId: 'b1', kind: 'message' } }),
    ).rejects.toMatchObject({
      name: 'PartitionFailedError',
      message: expect.stringContaining('partition(s) 1 of broadcast b1'),
    });
    expect(enqueuedWrites()).toHaveLength(1);
    expect(enqueuedWrites()[0].ExpressionAttributeNames).toEqual({ '#p0': 'p2' });
    const sent = sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!)));
    expect(sent.map((task) => task.partition)).toEqual([2]);
  });

  it('when SQS keeps rejecting, no partition of the batch is recorded as enqueued', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] });
    dynamo.on(GetCommand).resolves({ Item: { broadcastId: 'b1', item: 'count#enqueued#0000' } });
    dynamo.on(QueryCommand).resolves({ Items: [{ connectionId: 'c', expiresAt: future }] });
    await expect(queryPartitions({ Items: [5], BatchInput: { broadcastId: 'b1', kind: 'message' } })).rejects.toThrow(
      /partition\(s\) 5 of broadcast b1/,
    );
    expect(enqueuedWrites().every((w) => Object.keys(w.ExpressionAttributeNames ?? {}).length === 0)).toBe(true);
  });

  it('when every failure was throttling, the child fails with ThrottledError, which the state machine retries', async () => {
    dynamo.on(GetCommand).resolves({ Item: { broadcastId: 'b1', item: 'count#enqueued#0000' } });
    const throttle = Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
    dynamo.on(QueryCommand, { ExpressionAttributeValues: { ':partition': 1 } }).rejects(throttle);
    dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':partition': 2 } })
      .resolves({ Items: [{ connectionId: 'c', expiresAt: future }] });
    await expect(
      queryPartitions({ Items: [1, 2], BatchInput: { broadcastId: 'b1', kind: 'message' } }),
    ).rejects.toMatchObject({ name: 'ThrottledError' });
    expect(enqueuedWrites()[0].ExpressionAttributeNames).toEqual({ '#p0': 'p2' });
  });

  it('a sweep enqueues only the expired rows and deletes nothing itself: the consumer does, without a call', async () => {
    dynamo.on(GetCommand).resolves({});
    dynamo.on(QueryCommand).resolves({
      Items: [
        { connectionId: 'live', expiresAt: future },
        { connectionId: 'old', expiresAt: 10 },
        { connectionId: 'older', expiresAt: 5 },
      ],
    });

    const result = await queryPartitions({ Items: [4], BatchInput: { broadcastId: 's1', kind: 'sweep' } });

    const bodies = sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!)));
    expect(bodies.flatMap((b) => b.connectionIds).sort()).toEqual(['old', 'older']);
    expect(dynamo.commandCalls(DeleteCommand)).toHaveLength(0);
    expect(result.connections).toBe(2);
    expect(recordedCounts()).toEqual({ p4: 2 });
  });
});

describe('read-progress', () => {
  const record: BroadcastState = {
    broadcastId: 'b1',
    kind: 'message',
    partitionCount: 4,
    enqueued: new Map([
      [0, 0],
      [1, 10],
      [2, 5],
    ]),
    delivered: 12,
    gone: 2,
    failed: 0,
    startedAt: 1_000,
    deliveryTimeoutMs: 900_000,
    lastDeliveryAt: 1_800,
  };

  it('is not done while enqueued connections are unaccounted for', () => {
    expect(progressOf(record, 2_000)).toMatchObject({
      enqueued: 15,
      accounted: 14,
      done: false,
      deliverBy: 901_000,
      timedOut: false,
    });
    // the deadline runs from the start, or the last enqueue (a redrive's), never from a delivery; past it, the
    // counts still missing get the grace (a consumer's timeout) before the broadcast times out
    expect(progressOf(record, 901_000 + DELIVERY_GRACE_MS - 100).timedOut).toBe(false);
    expect(progressOf(record, 901_100 + DELIVERY_GRACE_MS).timedOut).toBe(true);
    expect(progressOf({ ...record, lastDeliveryAt: 900_000 }, 901_100 + DELIVERY_GRACE_MS).timedOut).toBe(true);
    expect(progressOf({ ...record, lastEnqueuedAt: 5_000_000 }, 5_800_000).timedOut).toBe(false);
  });

  it('is done when every enqueued connection is delivered, gone or failed: it sums the count items of every page', async () => {
    dynamo.on(GetCommand).resolves({
      Item: {
        broadcastId: 'b1',
        item: 'plan',
        kind: 'message',
        partitionCount: 4,
        startedAt: 1_000,
        deliveryTimeoutMs: 900_000,
      },
    });
    dynamo
      .on(QueryCommand)
      .resolvesOnce({
        Items: [
          { broadcastId: 'b1', item: 'count#delivered#03', delivered: 7, gone: 2, failed: 1, lastDeliveryAt: 1_800 },
          { broadcastId: 'b1', item: 'count#enqueued#0000', p0: 0, p1: 10, lastEnqueuedAt: 1_100 },
        ],
        LastEvaluatedKey: { broadcastId: 'b1', item: 'count#enqueued#0000' },
      })
      .resolvesOnce({
        Items: [
          { broadcastId: 'b1', item: 'count#delivered#09', delivered: 5, gone: 0, failed: 0, lastDeliveryAt: 1_500 },
          { broadcastId: 'b1', item: 'count#enqueued#0001', p2: 5 },
        ],
      });
    await expect(readProgress({ broadcastId: 'b1' })).resolves.toMatchObject({
      done: true,
      summary: {
        broadcastId: 'b1',
        partitions: 3,
        failedPartitions: [3],
        connections: 15,
        delivered: 12,
        gone: 2,
        failed: 1,
        durationMs: 800,
      },
    });
    const queries = dynamo.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries[1].ExclusiveStartKey).toEqual({ broadcastId: 'b1', item: 'count#enqueued#0000' });
    // the message item is outside the range: a progress read never pays for the message
    expect(queries[0]).toMatchObject({
      KeyConditionExpression: '#id = :id AND begins_with(#item, :prefix)',
      ExpressionAttributeValues: { ':id': 'b1', ':prefix': 'count#' },
    });
  });
});

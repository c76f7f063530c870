/**
 * A DynamoDB outage during a broadcast (issue 9, item 2): what the fan-out and the consumers do
 * when DynamoDB stops answering, so that no socket gets the message twice and no count is lost.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type PutCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handler as queryPartitions } from '../../../../functions/query-partitions';
import type { ConnectionPoster } from '#commons/clients/management-api';
import { DeliveryService, DeliveryTally, REQUEUE_RESERVE_MS } from '#commons/delivery';
import { parseShardMessage, type DeliveryTask } from '#commons/delivery-tasks';
import { logger } from '#commons/helpers/logger';
import { systemClock } from '#commons/rate-budget';
import { InMemoryLeaseStore } from '../../fixtures/budget-simulation';
import { answerUpdates } from '../../helpers/dynamodb-answers';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const future = Math.floor(Date.now() / 1000) + 3_600;
/** What the SDK throws when dynalite (or DynamoDB's endpoint) does not take the connection. */
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7761'), { code: 'ECONNREFUSED' });

const sentBodies = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) =>
      c.args[0].input.Entries!.map((e) => ({ ...JSON.parse(e.MessageBody!), delaySeconds: e.DelaySeconds })),
    );

function recordingPoster() {
  const calls: string[] = [];
  const poster = {
    post: async (connectionId: string) => (calls.push(connectionId), 'delivered' as const),
  } as unknown as ConnectionPoster;
  return { poster, calls };
}

const service = (poster: ConnectionPoster) =>
  new DeliveryService(
    {
      tables: { connections: 'Connections', broadcasts: 'Broadcasts' },
      partitionCount: 2500,
      shardQueueUrls: ['q0', 'q1'],
      postConcurrency: 4,
      maxDeliveryAttempts: 3,
      retriesPerInvocation: 0,
      retryBaseMs: 1,
      deliveryRatePerSecond: 9_000,
      leaseStore: new InMemoryLeaseStore(systemClock, 0),
    },
    poster,
  );

/** Claims as DynamoDB keeps them: the conditional PutItem of claimPartition / abandonRun against one stored item per key. */
function answerClaims(claims: Map<string, Record<string, unknown>>) {
  dynamo.on(PutCommand).callsFake((input: PutCommandInput) => {
    const item = input.Item!;
    if (!String(item.item).startsWith('claim#')) return {};
    const held = claims.get(String(item.item));
    const run = input.ExpressionAttributeValues![':run'];
    const allowed = input.ConditionExpression!.includes('abandoned = :true')
      ? !held || (held.run === run && !held.abandoned) || (held.run !== run && held.abandoned === true)
      : !held || held.run === run;
    if (!allowed)
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    claims.set(String(item.item), item);
    return {};
  });
  dynamo
    .on(GetCommand, { Key: { broadcastId: 'b1', item: 'message' } })
    .resolves({ Item: { kind: 'message', message: 'hello' } });
  dynamo
    .on(GetCommand, { Key: { broadcastId: 'b1', item: 'plan' } })
    .resolves({ Item: { deliverBy: Date.now() + 900_000 } });
  for (const partition of [1, 2, 3]) {
    dynamo
      .on(GetCommand, { Key: { broadcastId: 'b1', item: `claim#p${partition}` } })
      .callsFake(() => ({ Item: claims.get(`claim#p${partition}`) }));
  }
}

async function deliver(task: DeliveryTask, poster: ConnectionPoster, delivery = service(poster)) {
  const tally = new DeliveryTally('Broadcasts', ['q0', 'q1']);
  await delivery.deliver(task, tally, delivery.newInvocation(REQUEUE_RESERVE_MS + 60_000));
  await tally.flush();
}

beforeEach(() => {
  dynamo.reset();
  sqs.reset();
  jest.restoreAllMocks();
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
  answerUpdates(dynamo);
});

describe('the fan-out when DynamoDB stops answering', () => {
  it("tasks carry their run, and a partition's first task carries its enqueued count", async () => {
    dynamo.on(GetCommand).resolves({ Item: { broadcastId: 'b1', item: 'count#enqueued#0000' } });
    dynamo
      .on(QueryCommand)
      .resolves({ Items: ['a', 'b', 'c'].map((connectionId) => ({ connectionId, expiresAt: future })) });

    await queryPartitions({ Items: [1], BatchInput: { broadcastId: 'b1', kind: 'message' } });

    const [task] = sentBodies();
    expect(task).toMatchObject({ partition: 1, run: expect.any(String), enqueued: 3, connectionIds: ['a', 'b', 'c'] });
  });

  it('a count write lost after the tasks went out fails the child with UnavailableError, which the state machine retries', async () => {
    dynamo.on(GetCommand).resolves({ Item: { broadcastId: 'b1', item: 'count#enqueued#0000' } });
    dynamo.on(QueryCommand).resolves({ Items: [{ connectionId: 'a', expiresAt: future }] });
    dynamo.on(UpdateCommand).rejects(refused());
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);

    await expect(
      queryPartitions({ Items: [1], BatchInput: { broadcastId: 'b1', kind: 'message' } }),
    ).rejects.toMatchObject({ name: 'UnavailableError' });
    expect(sentBodies()).toHaveLength(1);
  });
});

describe('consumers when a partition was enqueued twice (its count write was lost, then a retry, redrive or replay sent it again)', () => {
  it('only the first run to be consumed delivers: the other run is dropped unsent, whichever container sees it', async () => {
    const claims = new Map<string, Record<string, unknown>>();
    answerClaims(claims);
    const { poster, calls } = recordingPoster();
    const first: DeliveryTask = {
      broadcastId: 'b1',
      partition: 1,
      attempt: 0,
      run: 'run-1',
      enqueued: 2,
      connectionIds: ['a', 'b'],
    };
    const second: DeliveryTask = { ...first, run: 'run-2' };

    await deliver(first, poster);
    await deliver(second, poster);
    await deliver(first, poster); // SQS delivering run 1's task again (a consumer died mid-batch) still delivers

    expect(calls).toEqual(['a', 'b', 'a', 'b']);
  });

  it("records the partition's carried enqueued count before its first socket is posted, only where none is", async () => {
    answerClaims(new Map());
    const order: string[] = [];
    const counts: unknown[] = [];
    dynamo
      .on(UpdateCommand)
      .callsFake(
        (input) => (
          order.push(`${input.Key.item} ${input.ConditionExpression ?? ''}`),
          counts.push(input.ExpressionAttributeValues[':n']),
          {}
        ),
      );
    const poster = { post: async () => (order.push('post'), 'delivered' as const) } as unknown as ConnectionPoster;

    // The partition's first task of three: it carries the count of all 1,201 ids, not its own 500.
    await deliver(
      { broadcastId: 'b1', partition: 1, attempt: 0, run: 'run-1', enqueued: 1_201, connectionIds: ['a'] },
      poster,
    );

    expect(order).toEqual([
      'count#enqueued#0000 attribute_not_exists(#p)',
      'post',
      expect.stringMatching(/^count#delivered#/),
    ]);
    expect(counts[0]).toBe(1_201);
  });

  it('a run whose tasks did not all reach a queue is taken over by the next run; its own late tasks are then dropped', async () => {
    const claims = new Map<string, Record<string, unknown>>([
      ['claim#p1', { item: 'claim#p1', run: 'run-1', abandoned: true }],
    ]);
    answerClaims(claims);
    const { poster, calls } = recordingPoster();

    await deliver({ broadcastId: 'b1', partition: 1, attempt: 0, run: 'run-1', connectionIds: ['a'] }, poster);
    await deliver({ broadcastId: 'b1', partition: 1, attempt: 0, run: 'run-2', connectionIds: ['a', 'b'] }, poster);
    await deliver(
      { broadcastId: 'b1', partition: 1, attempt: 0, run: 'run-1', connectionIds: ['c'] },
      poster,
      service(poster),
    );

    expect(calls).toEqual(['a', 'a', 'b']);
  });

  it('DynamoDB down before the first post: the task goes back whole with a delay, nothing posted, no receive of SQS used up', async () => {
    dynamo.on(GetCommand).resolves({ Item: { kind: 'message', message: 'hello' } });
    dynamo.on(GetCommand, { Key: { item: 'plan' } }).resolves({ Item: { deliverBy: Date.now() + 900_000 } });
    dynamo.on(PutCommand).rejects(refused());
    const { poster, calls } = recordingPoster();
    const task: DeliveryTask = {
      broadcastId: 'b1',
      partition: 1,
      attempt: 0,
      run: 'run-1',
      enqueued: 2,
      connectionIds: ['a', 'b'],
    };

    await deliver(task, poster);

    expect(calls).toEqual([]);
    expect(sentBodies()).toEqual([{ ...task, delaySeconds: 5 }]);
  });
});

describe('delivery counts when DynamoDB stops answering', () => {
  it('counts DynamoDB does not take ride a shard queue, and are written once from there however often SQS delivers them', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    dynamo.on(UpdateCommand).rejects(refused());
    const tally = new DeliveryTally('Broadcasts', ['q0', 'q1']);
    tally.add('b1', { delivered: 7, gone: 1, failed: 0 });

    await tally.flush();

    const [carrier] = sentBodies();
    expect(carrier).toMatchObject({
      carriedCounts: { broadcastId: 'b1', delivered: 7, gone: 1, failed: 0, countId: expect.any(String) },
    });
    dynamo.on(PutCommand).resolves({});
    const delivery = service(recordingPoster().poster);
    const message = parseShardMessage(JSON.stringify({ carriedCounts: carrier.carriedCounts }));
    await delivery.writeCarried(message as never);
    await delivery.writeCarried(message as never);
    const puts = dynamo.commandCalls(PutCommand).map((c) => c.args[0].input.Item);
    expect(puts).toHaveLength(2);
    expect(puts[0]).toEqual(puts[1]);
    expect(puts[0]).toMatchObject({
      item: `count#delivered#carried#${carrier.carriedCounts.countId}`,
      delivered: 7,
      gone: 1,
      failed: 0,
    });
  });

  it('a carried count still refused throws, so SQS delivers the carrier again', async () => {
    dynamo.on(PutCommand).rejects(refused());
    const carrier = parseShardMessage(
      JSON.stringify({
        carriedCounts: {
          broadcastId: 'b1',
          countId: 'c1',
          delivered: 1,
          gone: 0,
          failed: 0,
          failedBy: {},
          deliveredAt: 1,
        },
      }),
    );
    await expect(service(recordingPoster().poster).writeCarried(carrier as never)).rejects.toThrow(/ECONNREFUSED/);
  });
});

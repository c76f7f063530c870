import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { ConnectionPoster, PostOutcome } from '#commons/clients/management-api';
import {
  DeliveryService,
  DeliveryTally,
  REQUEUE_RESERVE_MS,
  SOCKET_THROTTLE_RETRIES,
  settleConnections,
  throttledRequeueSeconds,
  type CallBudget,
} from '#commons/delivery';
import type { DeliveryTask } from '#commons/delivery-tasks';
import { PostRejectedError } from '#commons/clients/management-api';
import { ConcurrencyLimit } from '#commons/helpers/concurrency';
import { signalWindow, systemClock } from '#commons/rate-budget';
import { InMemoryLeaseStore } from '../../fixtures/budget-simulation';
import { answerDeletes, answerUpdates } from '../../helpers/dynamodb-answers';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const managementApi = mockClient(ApiGatewayManagementApiClient);

/** A poster whose answer per connection id the test decides; it records every call. */
function fakePoster(outcomes: Record<string, (PostOutcome | 'reject')[]>) {
  const calls: string[] = [];
  const poster = {
    post: async (connectionId: string) => {
      calls.push(connectionId);
      const outcome = outcomes[connectionId]?.shift() ?? 'delivered';
      if (outcome === 'reject') throw new PostRejectedError(403, 'ForbiddenException', 'PostToConnection answered 403');
      return outcome;
    },
  } as unknown as ConnectionPoster;
  return { poster, calls };
}

let leaseStore: InMemoryLeaseStore;
const settings = () => ({
  tables: { connections: 'Connections', broadcasts: 'Broadcasts' },
  partitionCount: 2500,
  shardQueueUrls: ['q0', 'q1'],
  postConcurrency: 4,
  maxDeliveryAttempts: 3,
  retriesPerInvocation: 1,
  retryBaseMs: 1,
  deliveryRatePerSecond: 9_000,
  leaseStore,
});

const newService = (poster: ConnectionPoster) => new DeliveryService(settings(), poster);

beforeEach(() => {
  leaseStore = new InMemoryLeaseStore(systemClock, 0);
  dynamo.reset();
  sqs.reset();
  managementApi.reset();
  dynamo.on(GetCommand).resolves({ Item: { kind: 'message', message: 'hello' } });
  answerPlan(Date.now() + 900_000);
  answerUpdates(dynamo);
  sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
});

/**
 * Runs `work` in virtual time (jest's fake clock: Date, timers, performance), moving the clock on
 * while it is pending: the budget's deadlines and the backoffs cost no real time and do not race a
 * loaded machine. Promise callbacks and setImmediate stay real, so mocked SDK answers still arrive.
 */
async function inVirtualTime<T>(work: () => Promise<T>): Promise<T> {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  try {
    let settled = false;
    // Held as a result, not a pending rejection: the clock keeps moving until it is read.
    const running = work().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    void running.then(() => (settled = true));
    // A cap far beyond any invocation here (15 virtual minutes), so a hang fails instead of spinning.
    for (let elapsedMs = 0; !settled && elapsedMs < 900_000; elapsedMs += 5) await jest.advanceTimersByTimeAsync(5);
    if (!settled) throw new Error('the work did not finish within 15 virtual minutes');
    const outcome = await running;
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  } finally {
    jest.useRealTimers();
  }
}

/** Delivers one task in an invocation that may lease budget for `budgetMs` more, then writes the counts; in virtual time. */
async function deliverAndFlush(poster: ConnectionPoster, task: DeliveryTask, budgetMs = 60_000) {
  await inVirtualTime(async () => {
    const tally = new DeliveryTally('Broadcasts');
    const service = newService(poster);
    await service.deliver(task, tally, service.newInvocation(REQUEUE_RESERVE_MS + budgetMs));
    await tally.flush();
  });
}

/** Every broadcast's plan, with the delivery deadline the consumers go by. */
const answerPlan = (deliverBy: number) =>
  dynamo.on(GetCommand, { Key: { item: 'plan' } }).resolves({ Item: { deliverBy } });

const countsWritten = () =>
  dynamo
    .commandCalls(UpdateCommand)
    .map((c) => c.args[0].input)
    .filter((i) => i.TableName === 'Broadcasts');
const requeued = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) => c.args[0].input.Entries!)
    .map((entry) => ({ ...JSON.parse(entry.MessageBody!), delaySeconds: entry.DelaySeconds }));

describe('DeliveryService', () => {
  it('adds the counts of a whole batch in one write per broadcast', async () => {
    const { poster } = fakePoster({ x: ['gone'] });
    answerDeletes(dynamo, [{ connectionId: 'x', partition: 1 }]);
    const tally = new DeliveryTally('Broadcasts');
    const service = newService(poster);
    const invocation = service.newInvocation(60_000);
    await service.deliver(
      { broadcastId: 'b1', partition: 1, attempt: 0, connectionIds: ['a', 'x'] },
      tally,
      invocation,
    );
    await service.deliver(
      { broadcastId: 'b1', partition: 2, attempt: 0, connectionIds: ['b', 'c'] },
      tally,
      invocation,
    );
    await tally.flush();
    expect(countsWritten()).toHaveLength(1);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 3, ':gone': 1, ':failed': 0 });
  });

  it('posts to every connection once and adds the counts in one write', async () => {
    const { poster, calls } = fakePoster({});
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b', 'c'] });
    expect(calls.sort()).toEqual(['a', 'b', 'c']);
    expect(countsWritten()).toHaveLength(1);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 3, ':gone': 0, ':failed': 0 });
  });

  it('410 Gone: deletes that connection (not another) by its key', async () => {
    const { poster } = fakePoster({ b: ['gone'] });
    answerDeletes(dynamo, [{ partition: 3, connectionId: 'b' }]);

    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b', 'c'] });

    const deletes = dynamo.commandCalls(DeleteCommand).map((c) => c.args[0].input.Key);
    expect(deletes).toEqual([{ partition: 3, connectionId: 'b' }]);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 2, ':gone': 1, ':failed': 0 });
  });

  it('5xx on every try: re-queues only the undelivered ids with the next attempt number', async () => {
    const { poster, calls } = fakePoster({ b: ['retry', 'retry'], d: ['retry', 'retry'] });

    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b', 'c', 'd'] });

    expect(calls.filter((id) => id === 'a' || id === 'c')).toHaveLength(2); // delivered ones are never posted again
    expect(requeued()).toEqual([
      { broadcastId: 'b1', partition: 3, attempt: 1, connectionIds: ['b', 'd'], delaySeconds: 2 },
    ]);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 2, ':gone': 0, ':failed': 0 });
  });

  it('a re-queued task comes back by the deadline, not after it: its delay stops there', async () => {
    const { poster } = fakePoster({ b: ['retry', 'retry'] });
    answerPlan(Date.now() + 1_000);

    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b'] });

    // the next attempt would wait 2 s; the deadline is 1 s away
    expect(requeued()).toEqual([expect.objectContaining({ connectionIds: ['b'], attempt: 1, delaySeconds: 1 })]);
  });

  it('ids re-queued after a 5xx go to the next shard, not behind the backlog of the shard they came from', async () => {
    // prepare: three shards; partition 4 on its first attempt starts on shard 1
    const { poster } = fakePoster({ b: ['retry', 'retry'] });
    const service = new DeliveryService({ ...settings(), shardQueueUrls: ['q0', 'q1', 'q2'] }, poster);
    const tally = new DeliveryTally('Broadcasts');

    // act
    await service.deliver(
      { broadcastId: 'b1', partition: 4, attempt: 0, connectionIds: ['a', 'b'] },
      tally,
      service.newInvocation(60_000),
    );

    // assess
    const sends = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(sends.map((input) => input.QueueUrl)).toEqual(['q2']);
    expect(JSON.parse(sends[0].Entries![0].MessageBody!)).toMatchObject({ attempt: 1, connectionIds: ['b'] });
  });

  it('a 5xx that clears on the in-invocation retry is delivered without re-queueing', async () => {
    const { poster } = fakePoster({ b: ['retry', 'delivered'] });
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b'] });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 2 });
  });

  it('a post that got no answer is made again and counted unanswered: the socket may have it twice', async () => {
    const { poster, calls } = fakePoster({ b: ['unanswered', 'delivered'], c: ['unanswered', 'unanswered'] });
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b', 'c'] });
    expect(calls.filter((id) => id === 'b')).toHaveLength(2);
    expect(requeued()).toEqual([expect.objectContaining({ attempt: 1, connectionIds: ['c'] })]);
    const counts = countsWritten()[0];
    expect(counts.UpdateExpression).toContain('unanswered :unanswered');
    expect(counts.ExpressionAttributeValues).toMatchObject({ ':delivered': 2, ':unanswered': 3 });
  });

  it('answers, even 5xx, are not counted unanswered', async () => {
    const { poster } = fakePoster({ b: ['retry', 'delivered'] });
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b'] });
    expect(countsWritten()[0].UpdateExpression).not.toContain('unanswered');
  });

  it('after the last attempt the ids still answering 5xx are counted as failed, not re-queued', async () => {
    const { poster } = fakePoster({ b: ['retry', 'retry'] });
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 2, connectionIds: ['a', 'b'] });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 1, ':failed': 1 });
  });

  it('a 429 delays that socket alone: one more try at the next grant, then (a full socket) back on the queue marked throttled, never an attempt', async () => {
    // prepare: b's buffer is full for its first four calls; nine healthy sockets beside it
    const { poster, calls } = fakePoster({ b: ['throttled', 'throttled', 'throttled', 'throttled', 'delivered'] });
    const healthy = Array.from({ length: 9 }, (_, i) => `h${i}`);

    // act
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 2, connectionIds: [...healthy, 'b'] });

    // assess: its retry answered 429 too (the signal: no retried socket took it), so b waits on the queue, its attempt unchanged
    expect(calls.filter((id) => id === 'b')).toHaveLength(2);
    expect(requeued()).toEqual([
      expect.objectContaining({
        connectionIds: ['b'],
        attempt: 2,
        throttled: 1,
        delaySeconds: throttledRequeueSeconds(1),
      }),
    ]);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 9, ':failed': 0 });
  });

  it('a throttled task that comes back waits longer each round: 2, 4, 8 … 60 s', async () => {
    const always = (outcome: PostOutcome) => Array.from({ length: 100 }, () => outcome);
    const { poster } = fakePoster({ b: always('throttled') });

    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['b'], throttled: 3 });

    expect(requeued()).toEqual([expect.objectContaining({ connectionIds: ['b'], throttled: 4, delaySeconds: 16 })]);
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(throttledRequeueSeconds)).toEqual([2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it('some delivered, some throttled until the budget closes, some 5xx: each group goes back on its own terms, the delivered never', async () => {
    // prepare: on the last attempt, b and d answer 429 for good, e answers 5xx for good; the invocation has 300 ms of budget
    const always = (outcome: PostOutcome) => Array.from({ length: 10_000 }, () => outcome);
    const { poster, calls } = fakePoster({ b: always('throttled'), d: always('throttled'), e: always('retry') });

    // act
    await deliverAndFlush(
      poster,
      { broadcastId: 'b1', partition: 3, attempt: 2, connectionIds: ['a', 'b', 'c', 'd', 'e'] },
      300,
    );

    // assess: throttled ids keep their attempt number though it is the last; 5xx ids are past their attempts
    expect(calls.filter((id) => id === 'a' || id === 'c')).toHaveLength(2);
    // (Their delay follows how far ahead the budget's clock runs, which a loaded machine changes: not asserted.)
    expect(requeued()).toEqual([
      expect.objectContaining({
        broadcastId: 'b1',
        partition: 3,
        attempt: 2,
        connectionIds: expect.arrayContaining(['b', 'd']),
      }),
    ]);
    expect(requeued()[0].connectionIds).toHaveLength(2);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 2, ':gone': 0, ':failed': 1 });
  });

  it('ids that answered 429 until the budget closed go back marked throttled; past the deadline they fail as slow readers, the unthrottled as deadline', async () => {
    // prepare: b answers 429 for good (a full buffer) beside nine healthy sockets; the invocation has 300 ms of budget
    const always = (outcome: PostOutcome) => Array.from({ length: 10_000 }, () => outcome);
    const { poster } = fakePoster({ b: always('throttled') });
    const healthy = Array.from({ length: 9 }, (_, i) => `h${i}`);

    // act: first delivery re-queues b; then b's re-queued task and an unthrottled one arrive after the deadline
    await deliverAndFlush(
      poster,
      { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: [...healthy, 'b'] },
      300,
    );
    const [again] = requeued();
    answerPlan(Date.now() - 1);
    // The account's signal as other consumers left it: 429'd sockets answer their retries 429 again, first calls rarely.
    const full = { calls: 1_000, throttled: 20, retried: 10, repeated: 10 };
    const now = signalWindow(Date.now());
    leaseStore.lastSeen = { signal: { [now]: full, [now + 1]: full } };
    await deliverAndFlush(poster, {
      broadcastId: 'b1',
      partition: 3,
      attempt: 0,
      connectionIds: again.connectionIds,
      throttled: again.throttled,
    });
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 4, attempt: 0, connectionIds: ['c'] });

    // assess
    expect(again).toMatchObject({ connectionIds: ['b'], throttled: 1 });
    const [, slow, waited] = countsWritten().map((write) => write.ExpressionAttributeValues);
    expect(slow).toMatchObject({ ':failed': 1, ':slowReader': 1 });
    expect(slow).not.toHaveProperty(':deadline');
    expect(waited).toMatchObject({ ':failed': 1, ':deadline': 1 });
  });

  it("a throttled task past the deadline while the account's signal says its throttle fails as 'throttled', not as slow readers", async () => {
    // prepare: retried sockets mostly take the message: the 429s are the account's
    answerPlan(Date.now() - 1);
    const account = { calls: 1_000, throttled: 300, retried: 100, repeated: 30 };
    const now = signalWindow(Date.now());
    leaseStore.lastSeen = { signal: { [now]: account, [now + 1]: account } };

    // act
    await deliverAndFlush(fakePoster({}).poster, {
      broadcastId: 'b1',
      partition: 3,
      attempt: 0,
      connectionIds: ['b'],
      throttled: 2,
    });

    // assess
    const [counts] = countsWritten().map((write) => write.ExpressionAttributeValues);
    expect(counts).toMatchObject({ ':failed': 1, ':throttled': 1 });
    expect(counts).not.toHaveProperty(':slowReader');
  });

  it("a task that arrives after the plan's deadline posts nothing and counts its ids as failed", async () => {
    const { poster, calls } = fakePoster({});
    answerPlan(Date.now() - 1);
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b'] });
    expect(calls).toHaveLength(0);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 0, ':failed': 2 });
  });

  it.each([
    [
      'answers with every entry in Failed[]',
      () =>
        sqs.on(SendMessageBatchCommand).callsFake(({ Entries }) => ({
          Failed: Entries.map(({ Id }: { Id: string }) => ({ Id, SenderFault: false, Code: 'InternalError' })),
        })),
    ],
    ['throws', () => sqs.on(SendMessageBatchCommand).rejects(new Error('SQS is down'))],
  ])(
    'a re-queue that SQS refuses (SendMessageBatch %s) counts those ids as failed, the delivered ones still delivered',
    async (_, refuse) => {
      refuse();
      const { poster } = fakePoster({ b: ['retry', 'retry'] });
      await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b', 'c'] });
      expect(sqs.commandCalls(SendMessageBatchCommand).length).toBeGreaterThan(1); // sendDeliveryTasks tried again
      expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 2, ':gone': 0, ':failed': 1 });
    },
    20_000,
  );

  it('an answer no retry can fix (403) counts that socket as failed and never fails the message', async () => {
    const { poster, calls } = fakePoster({ b: ['reject'] });
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b', 'c'] });
    expect(calls.sort()).toEqual(['a', 'b', 'c']);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 2, ':gone': 0, ':failed': 1 });
  });

  it('a message whose broadcast has no text fails before any socket is posted to', async () => {
    dynamo.on(GetCommand).resolves({ Item: { kind: 'message' } });
    answerPlan(Date.now() + 900_000);
    const { poster, calls } = fakePoster({});
    await expect(
      deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a'] }),
    ).rejects.toThrow('broadcast b1 has no message to send');
    expect(calls).toHaveLength(0);
  });

  it('reads the message strongly consistent once per container, the deadline once per invocation', async () => {
    const { poster } = fakePoster({});
    const tally = new DeliveryTally('Broadcasts');
    const service = newService(poster);
    const first = service.newInvocation(60_000);
    await service.deliver({ broadcastId: 'b1', partition: 1, attempt: 0, connectionIds: ['a'] }, tally, first);
    await service.deliver({ broadcastId: 'b1', partition: 2, attempt: 0, connectionIds: ['b'] }, tally, first);
    await service.deliver(
      { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['c'] },
      tally,
      service.newInvocation(60_000),
    );
    const reads = dynamo.commandCalls(GetCommand).map((call) => call.args[0].input);
    expect(reads.filter((read) => read.Key!.item === 'message')).toEqual([
      expect.objectContaining({ ConsistentRead: true }),
    ]);
    expect(reads.filter((read) => read.Key!.item === 'plan')).toHaveLength(2);
  });
});

describe('the sweep', () => {
  const sweepTask = (connectionIds: string[]): DeliveryTask => ({
    broadcastId: 's1',
    partition: 5,
    attempt: 0,
    connectionIds,
  });
  const tables = {
    connections: 'Connections',
    broadcasts: 'Broadcasts',
    memberships: { subscriptions: 'Subscriptions', channelPartitions: 10 },
  };

  beforeEach(() => {
    dynamo.on(GetCommand).resolves({ Item: { kind: 'sweep' } });
    answerPlan(Date.now() + 900_000);
  });

  it('deletes its expired rows and their memberships, counted gone, with no @connections call and no budget write', async () => {
    // prepare: 'old' joined a channel; 'older' had already gone ($disconnect) before the sweep's delete
    answerDeletes(dynamo, [{ partition: 5, connectionId: 'old', channels: new Set(['news']) }]);
    const { poster, calls } = fakePoster({});
    const service = new DeliveryService({ ...settings(), tables }, poster);

    // act
    await inVirtualTime(async () => {
      const tally = new DeliveryTally('Broadcasts');
      await service.deliver(sweepTask(['old', 'older']), tally, service.newInvocation(60_000));
      await tally.flush();
    });

    // assess
    const deletes = dynamo.commandCalls(DeleteCommand).map((c) => c.args[0].input);
    expect(deletes.filter((d) => d.TableName === 'Connections').map((d) => d.Key)).toEqual([
      { partition: 5, connectionId: 'old' },
      { partition: 5, connectionId: 'older' },
    ]);
    expect(deletes.filter((d) => d.TableName === 'Subscriptions')).toHaveLength(1);
    expect(calls).toHaveLength(0);
    expect(managementApi.calls()).toHaveLength(0);
    expect(leaseStore.writesPerSecond.size).toBe(0);
    expect(requeued()).toEqual([]);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 0, ':gone': 2, ':failed': 0 });
  });

  it('a delete DynamoDB throttles sends the task back whole, later, and counts nothing yet', async () => {
    dynamo
      .on(DeleteCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' }));

    await deliverAndFlush(fakePoster({}).poster, sweepTask(['a', 'b']));

    expect(requeued()).toEqual([expect.objectContaining({ attempt: 0, connectionIds: ['a', 'b'], delaySeconds: 5 })]);
    expect(countsWritten()).toEqual([]);
    expect(managementApi.calls()).toHaveLength(0);
  });
});

describe('settleConnections', () => {
  const unlimited: CallBudget = {
    take: async () => true,
    throttled: () => undefined,
    recovered: () => undefined,
    accountThrottled: () => true,
    expect: () => undefined,
  };
  it('a probe that throws on one socket still lets every other call finish before returning', async () => {
    const finished: string[] = [];
    const probe = async (id: string) => {
      await new Promise((resolve) => setTimeout(resolve, id === 'slow' ? 20 : 1));
      if (id === 'bad') throw new Error('boom');
      finished.push(id);
      return 'delivered' as const;
    };
    const result = await inVirtualTime(() =>
      settleConnections(['bad', 'slow', 'ok'], probe, {
        limit: new ConcurrencyLimit(3),
        budget: unlimited,
        retries: 0,
        retryBaseMs: 1,
      }),
    );
    expect(finished.sort()).toEqual(['ok', 'slow']);
    expect(result).toMatchObject({ delivered: 2, rejected: { refused: ['bad'] } });
  });

  /** A budget that grants every call, records what it is told, and says what the account's signal says. */
  function recordingBudget(accountThrottled: boolean) {
    const told: string[] = [];
    const budget: CallBudget = {
      take: async () => true,
      throttled: (again) => void told.push(again ? 'throttled again' : 'throttled'),
      recovered: () => void told.push('recovered'),
      accountThrottled: () => accountThrottled,
      expect: (n) => void told.push(`expect ${n}`),
    };
    return { budget, told };
  }
  /** A probe answering each id from its list (then 'delivered'), recording the calls. */
  function scriptedProbe(answers: Record<string, PostOutcome[]>) {
    const calls: string[] = [];
    const probe = async (id: string) => {
      calls.push(id);
      return answers[id]?.shift() ?? ('delivered' as const);
    };
    return { probe, calls };
  }
  const always = (outcome: PostOutcome) => Array.from({ length: 100 }, () => outcome);

  it('a 429 is tried again at the next grant, with no wait; a socket that then takes the message tells the budget it recovered', async () => {
    const { budget, told } = recordingBudget(false);
    const { probe, calls } = scriptedProbe({ b: ['throttled', 'delivered'] });

    const result = await settleConnections(['a', 'b'], probe, {
      limit: new ConcurrencyLimit(2),
      budget,
      retries: 0,
      retryBaseMs: 1,
    });

    expect(result).toMatchObject({ delivered: 2, throttled: [], accountThrottled: [] });
    expect(calls).toEqual(['a', 'b', 'b']);
    expect(told).toEqual(['expect 2', 'throttled', 'expect 1', 'recovered']);
  });

  it('a socket that answers 429 again while the signal says full sockets goes back to the queue at once, its second 429 told as a repeat', async () => {
    const { budget, told } = recordingBudget(false);
    const { probe, calls } = scriptedProbe({ slow: always('throttled') });

    const result = await settleConnections(['slow', 'ok'], probe, {
      limit: new ConcurrencyLimit(2),
      budget,
      retries: 0,
      retryBaseMs: 1,
    });

    expect(result).toMatchObject({ delivered: 1, throttled: ['slow'], accountThrottled: [] });
    expect(calls.filter((id) => id === 'slow')).toHaveLength(2);
    expect(told).toEqual(['expect 2', 'throttled', 'expect 1', 'throttled again']);
  });

  it("while the signal says the account's throttle, a socket answering 429 again keeps its place at the budget SOCKET_THROTTLE_RETRIES times, then goes back like one without budget", async () => {
    const { budget } = recordingBudget(true);
    const { probe, calls } = scriptedProbe({ b: always('throttled') });

    const result = await settleConnections(['a', 'b'], probe, {
      limit: new ConcurrencyLimit(2),
      budget,
      retries: 0,
      retryBaseMs: 1,
    });

    expect(result).toMatchObject({ delivered: 1, throttled: [], accountThrottled: ['b'] });
    expect(calls.filter((id) => id === 'b')).toHaveLength(1 + SOCKET_THROTTLE_RETRIES);
  });

  it('the first 429 of ids that came back throttled is already a repeat: a full socket goes back after one call', async () => {
    const { budget, told } = recordingBudget(false);
    const { probe, calls } = scriptedProbe({ slow: always('throttled') });

    const result = await settleConnections(['slow'], probe, {
      limit: new ConcurrencyLimit(1),
      budget,
      retries: 0,
      retryBaseMs: 1,
      alreadyThrottled: true,
    });

    expect(result.throttled).toEqual(['slow']);
    expect(calls).toEqual(['slow']);
    expect(told).toEqual(['expect 1', 'throttled again']);
  });

  it('awaits every call and never has more than the shared limit in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    let finished = 0;
    const probe = async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      finished++;
      return 'delivered' as const;
    };
    const result = await inVirtualTime(() =>
      settleConnections(
        Array.from({ length: 50 }, (_, i) => `c${i}`),
        probe,
        { limit: new ConcurrencyLimit(5), budget: unlimited, retries: 0, retryBaseMs: 1 },
      ),
    );
    expect(finished).toBe(50);
    expect(result.delivered).toBe(50);
    expect(peak).toBe(5);
  });
});

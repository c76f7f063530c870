/**
 * One delivery deadline for the state machine and the consumers: ReadProgress stores the deadline
 * it judges by in the plan, waits past it only for the counts of calls already under way, and the
 * consumers' budget grants no call after it.
 */
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handler as readProgress } from '../../../../functions/read-progress';
import { DELIVERY_GRACE_MS, progressOf, type BroadcastState } from '#commons/broadcasts/progress';
import { recordEnqueued } from '#commons/broadcasts/counts';
import { budgetUntil, PlannedDeadline, type CallBudget } from '#commons/delivery';

const dynamo = mockClient(DynamoDBDocumentClient);
const TIMEOUT_MS = 900_000;

/** A plan written by Prepare at 1,000 (deadline from the start) and a fan-out whose last enqueue was at 5,000. */
function answerBroadcast({ deliverBy = 1_000 + TIMEOUT_MS, delivered = 5 } = {}) {
  dynamo.on(GetCommand).resolves({
    Item: {
      broadcastId: 'b1',
      item: 'plan',
      kind: 'message',
      partitionCount: 1,
      startedAt: 1_000,
      deliveryTimeoutMs: TIMEOUT_MS,
      deliverBy,
    },
  });
  dynamo.on(QueryCommand).resolves({
    Items: [
      { broadcastId: 'b1', item: 'count#enqueued#0000', p0: 10, firstEnqueuedAt: 2_000, lastEnqueuedAt: 5_000 },
      { broadcastId: 'b1', item: 'count#delivered#00', delivered, gone: 0, failed: 0 },
    ],
  });
  dynamo.on(UpdateCommand).resolves({});
}

beforeEach(() => dynamo.reset());

describe("ReadProgress and the plan's deadline", () => {
  test("once the fan-out has ended, it moves the plan's deadline to the last enqueue + the timeout, never earlier", async () => {
    answerBroadcast();
    const progress = await readProgress({ broadcastId: 'b1' });
    expect(progress).toMatchObject({ done: false, deliverBy: 5_000 + TIMEOUT_MS });
    const updates = dynamo.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(updates).toEqual([
      expect.objectContaining({
        Key: { broadcastId: 'b1', item: 'plan' },
        UpdateExpression: 'SET deliverBy = :deliverBy',
        ConditionExpression: 'attribute_exists(#id) AND (attribute_not_exists(deliverBy) OR deliverBy < :deliverBy)',
        ExpressionAttributeValues: { ':deliverBy': 5_000 + TIMEOUT_MS },
      }),
    ]);
  });

  test('it writes nothing when the plan already holds that deadline, nor once delivery is done', async () => {
    answerBroadcast({ deliverBy: 5_000 + TIMEOUT_MS });
    await readProgress({ broadcastId: 'b1' });
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
    dynamo.reset();
    answerBroadcast({ delivered: 10 });
    await expect(readProgress({ broadcastId: 'b1' })).resolves.toMatchObject({ done: true });
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  test('a later deadline in the plan (a consumer read it) is the one judged by', () => {
    const state: BroadcastState = {
      broadcastId: 'b1',
      kind: 'message',
      partitionCount: 1,
      startedAt: 1_000,
      deliveryTimeoutMs: TIMEOUT_MS,
      deliverBy: 2_000_000,
      enqueued: new Map([[0, 10]]),
      delivered: 5,
      gone: 0,
      failed: 0,
      lastEnqueuedAt: 5_000,
    };
    expect(progressOf(state, 1_000_000)).toMatchObject({ deliverBy: 2_000_000, timedOut: false });
  });

  test('past the deadline it waits the grace for counts still to come, and ends at once when they are all in', () => {
    const state: BroadcastState = {
      broadcastId: 'b1',
      kind: 'message',
      partitionCount: 1,
      startedAt: 1_000,
      deliveryTimeoutMs: TIMEOUT_MS,
      enqueued: new Map([[0, 10]]),
      delivered: 5,
      gone: 0,
      failed: 0,
      lastEnqueuedAt: 5_000,
    };
    const deadline = 5_000 + TIMEOUT_MS;
    expect(progressOf(state, deadline + 1)).toMatchObject({ done: false, timedOut: false });
    expect(progressOf({ ...state, failed: 5, failedBy: { deadline: 5 } }, deadline + 1)).toMatchObject({
      done: true,
      timedOut: false,
      failedSocketsTolerated: false,
    });
    expect(progressOf(state, deadline + DELIVERY_GRACE_MS + 1)).toMatchObject({ done: false, timedOut: true });
  });
});

describe('the fan-out moves the deadline with each enqueue', () => {
  test("recording enqueued counts sets the plan's deadline to this enqueue + the timeout, unless a later enqueue already did", async () => {
    dynamo.on(UpdateCommand).resolves({});
    await recordEnqueued('Broadcasts', 'b1', new Map([[3, 40]]), 7_000);
    const plan = dynamo
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input)
      .find((input) => input.Key!.item === 'plan');
    expect(plan).toMatchObject({
      UpdateExpression: 'SET deliverBy = deliveryTimeoutMs + :now, lastEnqueuedAt = :now',
      ConditionExpression:
        'attribute_exists(deliveryTimeoutMs) AND (attribute_not_exists(lastEnqueuedAt) OR lastEnqueuedAt < :now)',
      ExpressionAttributeValues: { ':now': 7_000 },
    });
  });
});

describe('the budget closes at the deadline', () => {
  /** A budget that grants every call after `grantMs` of the test clock, and records what it was told. */
  function fakeBudget(clock: { now: number }, grantMs = 0) {
    const told = { taken: 0, expected: 0, throttled: 0 };
    const budget: CallBudget = {
      take: async () => {
        told.taken++;
        clock.now += grantMs;
        return true;
      },
      expect: (n) => (told.expected += n),
      throttled: () => told.throttled++,
      recovered: () => undefined,
      accountThrottled: () => true,
    };
    return { budget, told };
  }
  /** A deadline of 2,000 on the test clock that the plan never moves. */
  const fixedDeadline = (clock: { now: number }) =>
    new PlannedDeadline(
      async () => 2_000,
      2_000,
      () => clock.now,
    );

  test('before the deadline it grants what the budget grants; at it, nothing, without asking the budget', async () => {
    const clock = { now: 1_000 };
    const { budget, told } = fakeBudget(clock);
    const closing = budgetUntil(budget, fixedDeadline(clock));
    closing.expect(2);
    await expect(closing.take()).resolves.toBe(true);
    clock.now = 2_000;
    await expect(closing.take()).resolves.toBe(false);
    // the call that got no grant is no longer expected: the budget does not lease for it
    expect(told).toEqual({ taken: 1, expected: 1, throttled: 0 });
  });

  test('a grant that comes after the deadline starts no call', async () => {
    const clock = { now: 1_900 };
    const { budget } = fakeBudget(clock, 200);
    await expect(budgetUntil(budget, fixedDeadline(clock)).take()).resolves.toBe(false);
  });
});

describe('the deadline a consumer knows', () => {
  test('once it has come, the plan is read again: an enqueue since then moved it, so it has not passed', async () => {
    const clock = { now: 1_000 };
    const reads: number[] = [];
    const deadline = new PlannedDeadline(
      async () => (reads.push(clock.now), 9_000),
      2_000,
      () => clock.now,
    );

    await expect(deadline.passed()).resolves.toBe(false);
    clock.now = 2_500;
    await expect(deadline.passed()).resolves.toBe(false);
    expect(deadline.knownMs).toBe(9_000);
    clock.now = 9_000;
    await expect(deadline.passed()).resolves.toBe(true);
    expect(reads).toEqual([2_500, 9_000]);
  });

  test('past it, the plan is read at most once a second, and a failed read keeps the deadline known', async () => {
    const clock = { now: 2_000 };
    let reads = 0;
    const deadline = new PlannedDeadline(
      async () => (reads++, Promise.reject(new Error('DynamoDB did not answer'))),
      2_000,
      () => clock.now,
    );

    await expect(deadline.passed()).resolves.toBe(true);
    clock.now = 2_500;
    await expect(deadline.passed()).resolves.toBe(true);
    clock.now = 3_000;
    await expect(deadline.passed()).resolves.toBe(true);
    expect(reads).toBe(1);
  });
});

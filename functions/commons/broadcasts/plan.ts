/**
 * A broadcast's message and plan items: written by Prepare (and a replay's Prepare), read by the
 * consumers (the message, the deadline) and by ReadProgress (the plan and the counts together).
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamoDb } from '#commons/clients/dynamodb';
import { BroadcastNotFoundError, InvalidBroadcastError } from '#commons/errors';
import { retryWithBackoff } from '#commons/helpers/retry';
import { readCounters } from '#commons/broadcasts/counts';
import { BROADCAST_ID, expiresAt, key, MESSAGE_ITEM, PLAN_ITEM } from '#commons/broadcasts/items';
import { progressOf, type BroadcastState } from '#commons/broadcasts/progress';

/** A broadcast sends `message`; a sweep checks every connection and removes the gone ones. */
export type BroadcastKind = 'message' | 'sweep';

/** What Prepare stores for a new broadcast. */
export interface NewBroadcast {
  broadcastId: string;
  kind: BroadcastKind;
  message?: string;
  /** A channel broadcast's channel: its partitions are the channel's (docs/channels.md). */
  channel?: string;
  /** Partitions 0..partitionCount-1 are planned: every broadcast visits every partition (of the channel, for a channel). */
  partitionCount: number;
  startedAt: number;
  /** Sockets not delivered this long after the last enqueue (or the start) count as failed. */
  deliveryTimeoutMs: number;
}

export interface BroadcastPlan {
  kind: BroadcastKind;
  /** Absent: every socket of the API. */
  channel?: string;
  partitionCount: number;
  startedAt: number;
  deliveryTimeoutMs: number;
  /**
   * The delivery deadline (epoch ms) consumers and ReadProgress both go by: no post starts after
   * it. Absent only in plans written before it existed (deliveryDeadline then computes it).
   */
  deliverBy?: number;
}

/**
 * Stores a new broadcast: its message item, then its plan. The id is the execution's name, unique
 * per state machine: an existing message item with the same kind and message is this execution's
 * own, written by an earlier attempt of a retried Prepare.
 */
export async function createBroadcast(tableName: string, broadcast: NewBroadcast): Promise<BroadcastPlan> {
  const { broadcastId, kind, message, channel, partitionCount, startedAt, deliveryTimeoutMs } = broadcast;
  try {
    await dynamoDb.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...key(broadcastId, MESSAGE_ITEM), kind, message, channel, expiresAt: expiresAt(startedAt) },
        ConditionExpression: 'attribute_not_exists(#id)',
        ExpressionAttributeNames: { '#id': BROADCAST_ID },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = await getBroadcastPayload(tableName, broadcastId);
    if (existing.kind !== kind || existing.message !== message || existing.channel !== channel) {
      throw new InvalidBroadcastError(
        `broadcast ${broadcastId} already exists; to send to its failed partitions again, start a replay with {"broadcastId", "partitions"}`,
      );
    }
  }
  // Fan-out has not begun: the deadline counts from the start until ReadProgress knows the last enqueue.
  const plan: BroadcastPlan = {
    kind,
    ...(channel !== undefined && { channel }),
    partitionCount,
    startedAt,
    deliveryTimeoutMs,
    deliverBy: startedAt + deliveryTimeoutMs,
  };
  await dynamoDb.send(
    new PutCommand({
      TableName: tableName,
      Item: { ...key(broadcastId, PLAN_ITEM), ...plan, expiresAt: expiresAt(startedAt) },
    }),
  );
  return plan;
}

export async function getBroadcastPlan(tableName: string, broadcastId: string): Promise<BroadcastPlan> {
  const { Item } = await dynamoDb.send(
    new GetCommand({ TableName: tableName, Key: key(broadcastId, PLAN_ITEM), ConsistentRead: true }),
  );
  if (!Item) throw new BroadcastNotFoundError(`no broadcast with id ${broadcastId}`);
  return {
    kind: Item.kind,
    ...(Item.channel !== undefined && { channel: Item.channel }),
    partitionCount: Item.partitionCount,
    startedAt: Item.startedAt,
    deliveryTimeoutMs: Item.deliveryTimeoutMs,
    deliverBy: Item.deliverBy,
  } as BroadcastPlan;
}

/**
 * The delivery deadline a consumer goes by: the plan's `deliverBy` (start + timeout for plans
 * without one). A throttled read ends in ThrottledError; the consumer re-queues the task unsent.
 */
export async function getDeliverBy(tableName: string, broadcastId: string): Promise<number> {
  const { Item } = await retryWithBackoff(`the plan of broadcast ${broadcastId}`, () =>
    dynamoDb.send(
      new GetCommand({
        TableName: tableName,
        Key: key(broadcastId, PLAN_ITEM),
        ConsistentRead: true,
        ProjectionExpression: 'deliverBy, startedAt, deliveryTimeoutMs',
      }),
    ),
  );
  if (!Item) throw new BroadcastNotFoundError(`no broadcast with id ${broadcastId}`);
  const deliverBy =
    (Item.deliverBy as number | undefined) ?? (Item.startedAt as number) + (Item.deliveryTimeoutMs as number);
  if (!Number.isFinite(deliverBy))
    throw new InvalidBroadcastError(
      `broadcast ${broadcastId} has a plan with no deadline: deliverBy, or startedAt and deliveryTimeoutMs, must be numbers`,
    );
  return deliverBy;
}

/**
 * Moves the plan's deadline later to `deliverBy`, never earlier: ReadProgress does once the fan-out
 * has ended (and again if a redrive enqueues later), so consumers go by the deadline it judges by.
 */
export async function extendDeliverBy(tableName: string, broadcastId: string, deliverBy: number): Promise<void> {
  try {
    await dynamoDb.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key(broadcastId, PLAN_ITEM),
        UpdateExpression: 'SET deliverBy = :deliverBy',
        ConditionExpression: 'attribute_exists(#id) AND (attribute_not_exists(deliverBy) OR deliverBy < :deliverBy)',
        ExpressionAttributeNames: { '#id': BROADCAST_ID },
        ExpressionAttributeValues: { ':deliverBy': deliverBy },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** Reads just what a consumer needs to deliver: the kind, the message and its channel. A throttled read ends in ThrottledError. */
export async function getBroadcastPayload(
  tableName: string,
  broadcastId: string,
): Promise<{ kind: BroadcastKind; message?: string; channel?: string }> {
  const { Item } = await retryWithBackoff(`the message read of broadcast ${broadcastId}`, () =>
    dynamoDb.send(
      new GetCommand({
        TableName: tableName,
        Key: key(broadcastId, MESSAGE_ITEM),
        // Consumers may read a broadcast moments after Prepare wrote it: an eventually consistent miss would
        // park the message for a whole visibility timeout.
        ConsistentRead: true,
        ProjectionExpression: '#kind, #message, #channel',
        ExpressionAttributeNames: { '#kind': 'kind', '#message': 'message', '#channel': 'channel' },
      }),
    ),
  );
  if (!Item) throw new BroadcastNotFoundError(`no broadcast with id ${broadcastId}`);
  return Item as { kind: BroadcastKind; message?: string; channel?: string };
}

/**
 * A replay restarts the clock, its deadline included. The plan stays "every partition": a replay's
 * partitions are among them, and a partition count raised since the broadcast widens it (the
 * channel partition count, for a channel broadcast). A replay
 * of a broadcast still delivering (sockets unaccounted for, its deadline and grace not passed) is
 * refused, as `swarmcast replay` refuses it: what it would replay is not known yet.
 */
export async function beginReplay(
  tableName: string,
  broadcastId: string,
  counts: { partitionCount: number; channelPartitions: number },
  startedAt: number,
): Promise<BroadcastPlan> {
  const [plan, counters] = await Promise.all([
    getBroadcastPlan(tableName, broadcastId),
    readCounters(tableName, broadcastId),
  ]);
  const progress = progressOf({ broadcastId, ...plan, ...counters }, startedAt);
  if (!progress.done && !progress.timedOut) {
    throw new InvalidBroadcastError(
      `broadcast ${broadcastId} is still delivering (${progress.accounted.toLocaleString('en-US')} of ${progress.enqueued.toLocaleString('en-US')} sockets accounted for); replay it once it has ended (swarmcast status ${broadcastId} --watch)`,
    );
  }
  const widened = Math.max(
    plan.partitionCount,
    plan.channel === undefined ? counts.partitionCount : counts.channelPartitions,
  );
  await dynamoDb.send(
    new UpdateCommand({
      TableName: tableName,
      Key: key(broadcastId, PLAN_ITEM),
      UpdateExpression: 'SET partitionCount = :count, startedAt = :startedAt, deliverBy = :deliverBy',
      ExpressionAttributeValues: {
        ':count': widened,
        ':startedAt': startedAt,
        ':deliverBy': startedAt + plan.deliveryTimeoutMs,
      },
    }),
  );
  return { ...plan, partitionCount: widened, startedAt, deliverBy: startedAt + plan.deliveryTimeoutMs };
}

/**
 * While the fan-out runs, the deadline is the latest enqueue so far + the timeout: consumers
 * reading the plan then never give up on a socket before the deadline the state machine ends up
 * judging by. One small conditional write per recordEnqueued; `lastEnqueuedAt` keeps it monotonic.
 */
export async function extendDeadlineToEnqueue(tableName: string, broadcastId: string, now: number): Promise<void> {
  try {
    await retryWithBackoff(`the deadline of broadcast ${broadcastId}`, () =>
      dynamoDb.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(broadcastId, PLAN_ITEM),
          UpdateExpression: 'SET deliverBy = deliveryTimeoutMs + :now, lastEnqueuedAt = :now',
          ConditionExpression:
            'attribute_exists(deliveryTimeoutMs) AND (attribute_not_exists(lastEnqueuedAt) OR lastEnqueuedAt < :now)',
          ExpressionAttributeValues: { ':now': now },
        }),
      ),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** The plan and the summed counters: what ReadProgress and `swarmcast status` need. */
export async function getBroadcastState(tableName: string, broadcastId: string): Promise<BroadcastState> {
  const [plan, counters] = await Promise.all([
    getBroadcastPlan(tableName, broadcastId),
    readCounters(tableName, broadcastId),
  ]);
  return { broadcastId, ...plan, ...counters };
}

/**
 * A broadcast's items in the Broadcasts table, all under its id (the partition key), told apart
 * by the sort key `item`. DynamoDB charges a write by the size of the whole item and serves at
 * most 1,000 WCU/s per partition, so nothing written during delivery shares an item with the
 * message or grows with the partition count:
 * - `message`: the kind and the message (≤ 128 KB), written once, read once per consumer container;
 * - `plan`: partition count, start time, timeout and `deliverBy`, the one delivery deadline (see deliveryDeadline);
 *   written once per execution (a replay restarts the clock), `deliverBy` moved later by each enqueue and ReadProgress;
 * - `count#enqueued#<group>`: connections enqueued per partition for ENQUEUED_GROUP_SIZE partitions,
 *   each SET once (idempotent under retries and redrives);
 * - `count#delivered#<shard>`: delivered/gone/failed, ADDed to one of DELIVERY_COUNT_SHARDS items
 *   picked per write, so no single item takes every consumer's writes.
 * - `failed#p<partition>#<hash of the ids>`: the ids of sockets one delivery task gave up on (≤ one
 *   task's ids), PUT once by the consumer; a failed-sockets replay takes them over (see takeOverFailedSockets);
 * - `count#delivered#retaken#<write id>`: what a replay took over of one failed-socket write, as negative failed
 *   counts, PUT once: the replay's own deliveries then count those sockets again.
 * - `count#delivered#carried#<count id>`: the counts of one invocation whose ADD failed, carried on a
 *   shard queue until DynamoDB answered again, then PUT once (a redelivered carrier overwrites it).
 * - `claim#p<partition>`: which fan-out run's tasks deliver to the partition. The first consumer of
 *   a run's task claims it; a task of another run (a replay, redrive or retry that enqueued the
 *   partition again because its count write was lost) is dropped unsent.
 * - `done#<SQS message id>`: a delivery task the consumer finished, PUT after its posts; SQS
 *   delivering the same message again (its delete was lost) finds it and sends nothing.
 * ReadProgress reads the plan and Queries the `count#` items, never the message. Every item
 * expires with the broadcast (expiresAt).
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamoDb } from '#commons/clients/dynamodb';
import { BroadcastNotFoundError, InvalidBroadcastError, isThrottlingError, ThrottledError } from '#commons/errors';
import { jitteredBackoffMs, sleep } from '#commons/helpers/concurrency';
import { broadcastsTable } from '#commons/tables';
import { AWS_LIMITS } from '#commons/aws-limits';
import { DELIVERY_GRACE_SECONDS } from '#commons/constants';

const BROADCAST_ID = broadcastsTable.partitionKey.name;
const ITEM = broadcastsTable.sortKey.name;
const MESSAGE_ITEM = 'message';
const PLAN_ITEM = 'plan';
const COUNT_PREFIX = 'count#';
const ENQUEUED_PREFIX = `${COUNT_PREFIX}enqueued#`;
const DELIVERED_PREFIX = `${COUNT_PREFIX}delivered#`;
const RETAKEN_PREFIX = `${DELIVERED_PREFIX}retaken#`;
const CARRIED_PREFIX = `${DELIVERED_PREFIX}carried#`;
const FAILED_PREFIX = 'failed#';
const CLAIM_PREFIX = 'claim#';
const DONE_PREFIX = 'done#';
/** Partitions per enqueued-count item: 64 names "p9999" with their counts stay far under 1 KB. */
export const ENQUEUED_GROUP_SIZE = 64;
/** Items the delivery counts are spread over; ReadProgress sums them. */
export const DELIVERY_COUNT_SHARDS = 16;
/** Broadcast records outlive RedriveExecution's 14-day window, then expire. */
const RECORD_RETENTION_SECONDS = 15 * 24 * 60 * 60;
/** Tries of a counter write or payload read beyond the SDK's own retries, before giving up. */
const WRITE_ATTEMPTS = 4;

/** A broadcast sends `message`; a sweep checks every connection and removes the gone ones. */
export type BroadcastKind = 'message' | 'sweep';

/**
 * Why a socket was given up on: no call granted before the delivery deadline; 429 for that
 * socket up to the deadline (a slow reader: its buffer stayed full); 429 from the account's
 * throttle up to the deadline; 403 or 413; another answer
 * no retry can fix; 5xx or no answer past maxDeliveryAttempts; or SQS refused to take it back.
 */
export const FAILURE_REASONS = [
  'deadline',
  'slowReader',
  'throttled',
  'forbidden',
  'tooLarge',
  'refused',
  'unavailable',
  'unqueued',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];
export type FailureCounts = Partial<Record<FailureReason, number>>;

export interface DeliveryCounts {
  delivered: number;
  gone: number;
  failed: number;
  /** `failed` by reason (their sum is `failed`). */
  failedBy?: FailureCounts;
  /**
   * Posts that got no answer at all and were made again (PostOutcome `unanswered`): at most this
   * many sockets may have the message twice. Zero unless a connection to API Gateway broke mid-call.
   */
  unanswered?: number;
}

/** What Prepare stores for a new broadcast. */
export interface NewBroadcast {
  broadcastId: string;
  kind: BroadcastKind;
  message?: string;
  /** Partitions 0..partitionCount-1 are planned: every broadcast visits every partition. */
  partitionCount: number;
  startedAt: number;
  /** Sockets not delivered this long after the last enqueue (or the start) count as failed. */
  deliveryTimeoutMs: number;
}

export interface BroadcastPlan {
  kind: BroadcastKind;
  partitionCount: number;
  startedAt: number;
  deliveryTimeoutMs: number;
  /**
   * The delivery deadline (epoch ms) consumers and ReadProgress both go by: no post starts after
   * it. Absent only in plans written before it existed (deliveryDeadline then computes it).
   */
  deliverBy?: number;
}

/** ReadProgress waits this long past the deadline for the last counts (see DELIVERY_GRACE_SECONDS). */
export const DELIVERY_GRACE_MS = DELIVERY_GRACE_SECONDS * 1000;

/** The counters of a broadcast, summed over its count items. */
export interface BroadcastCounters extends DeliveryCounts {
  /** Connections enqueued per visited partition. */
  enqueued: Map<number, number>;
  /** When the first partition's tasks were all queued (a replay keeps the first run's). */
  firstEnqueuedAt?: number;
  lastEnqueuedAt?: number;
  lastDeliveryAt?: number;
}

export type BroadcastState = BroadcastPlan & BroadcastCounters & { broadcastId: string };

const key = (broadcastId: string, item: string) => ({ [BROADCAST_ID]: broadcastId, [ITEM]: item });
const expiresAt = (fromMs: number) => Math.floor(fromMs / 1000) + RECORD_RETENTION_SECONDS;
export const enqueuedGroupItem = (partition: number): string =>
  `${ENQUEUED_PREFIX}${String(Math.floor(partition / ENQUEUED_GROUP_SIZE)).padStart(4, '0')}`;
const partitionAttribute = (partition: number): string => `p${partition}`;

/**
 * Retries a call DynamoDB throttled (beyond the SDK's own retries) with jittered backoff; if it
 * is still throttled, throws ThrottledError, which the state machine and the queues retry later.
 */
async function withThrottlingRetries<T>(what: string, call: () => Promise<T>, baseMs = 100): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottlingError(error)) throw error;
      if (attempt === WRITE_ATTEMPTS)
        throw new ThrottledError(`DynamoDB throttled ${what} ${WRITE_ATTEMPTS} times`, { cause: error });
      await sleep(jitteredBackoffMs(attempt, baseMs, 5_000));
    }
  }
}

/**
 * Stores a new broadcast: its message item, then its plan. The id is the execution's name, unique
 * per state machine: an existing message item with the same kind and message is this execution's
 * own, written by an earlier attempt of a retried Prepare.
 */
export async function createBroadcast(tableName: string, broadcast: NewBroadcast): Promise<BroadcastPlan> {
  const { broadcastId, kind, message, partitionCount, startedAt, deliveryTimeoutMs } = broadcast;
  try {
    await dynamoDb.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...key(broadcastId, MESSAGE_ITEM), kind, message, expiresAt: expiresAt(startedAt) },
        ConditionExpression: 'attribute_not_exists(#id)',
        ExpressionAttributeNames: { '#id': BROADCAST_ID },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = await getBroadcastPayload(tableName, broadcastId);
    if (existing.kind !== kind || existing.message !== message) {
      throw new InvalidBroadcastError(
        `broadcast ${broadcastId} already exists; to send to its failed partitions again, start a replay with {"broadcastId", "partitions"}`,
      );
    }
  }
  // Fan-out has not begun: the deadline counts from the start until ReadProgress knows the last enqueue.
  const plan: BroadcastPlan = {
    kind,
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
  const { Item } = await withThrottlingRetries(`the plan of broadcast ${broadcastId}`, () =>
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

/** Reads just what a consumer needs to deliver: the kind and the message. A throttled read ends in ThrottledError. */
export async function getBroadcastPayload(
  tableName: string,
  broadcastId: string,
): Promise<{ kind: BroadcastKind; message?: string }> {
  const { Item } = await withThrottlingRetries(`the message read of broadcast ${broadcastId}`, () =>
    dynamoDb.send(
      new GetCommand({
        TableName: tableName,
        Key: key(broadcastId, MESSAGE_ITEM),
        // Consumers may read a broadcast moments after Prepare wrote it: an eventually consistent miss would
        // park the message for a whole visibility timeout.
        ConsistentRead: true,
        ProjectionExpression: '#kind, #message',
        ExpressionAttributeNames: { '#kind': 'kind', '#message': 'message' },
      }),
    ),
  );
  if (!Item) throw new BroadcastNotFoundError(`no broadcast with id ${broadcastId}`);
  return Item as { kind: BroadcastKind; message?: string };
}

/**
 * A replay restarts the clock, its deadline included. The plan stays "every partition": a replay's
 * partitions are among them, and a partition count raised since the broadcast widens it. A replay
 * of a broadcast still delivering (sockets unaccounted for, its deadline and grace not passed) is
 * refused, as `swarmcast replay` refuses it: what it would replay is not known yet.
 */
export async function beginReplay(
  tableName: string,
  broadcastId: string,
  partitionCount: number,
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
  const widened = Math.max(plan.partitionCount, partitionCount);
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

/** Which of `partitions` already have their enqueued count (a retried or redriven child skips them). */
export async function findEnqueued(
  tableName: string,
  broadcastId: string,
  partitions: readonly number[],
): Promise<Set<number>> {
  const byGroup = groupByItem(partitions);
  const found = new Set<number>();
  await Promise.all(
    [...byGroup].map(async ([item, members]) => {
      const { Item } = await withThrottlingRetries(`the enqueued counts of broadcast ${broadcastId}`, () =>
        dynamoDb.send(
          new GetCommand({
            TableName: tableName,
            Key: key(broadcastId, item),
            ConsistentRead: true,
            ProjectionExpression: members.map((_, i) => `#p${i}`).join(', '),
            ExpressionAttributeNames: Object.fromEntries(
              members.map((partition, i) => [`#p${i}`, partitionAttribute(partition)]),
            ),
          }),
        ),
      );
      for (const partition of members) if (Item?.[partitionAttribute(partition)] !== undefined) found.add(partition);
    }),
  );
  return found;
}

/**
 * Records how many connections each partition enqueued, one small write per group item. SET (not
 * ADD) keeps it right when a child execution runs again: a partition's count is written once,
 * whatever the retries. Throttled writes are retried, then end in ThrottledError. The plan's
 * deadline moves with it (see extendDeadlineToEnqueue).
 */
export async function recordEnqueued(
  tableName: string,
  broadcastId: string,
  counts: ReadonlyMap<number, number>,
  now = Date.now(),
): Promise<void> {
  const byGroup = groupByItem([...counts.keys()]);
  await Promise.all([
    extendDeadlineToEnqueue(tableName, broadcastId, now),
    ...[...byGroup].map(([item, members]) =>
      withThrottlingRetries(`the enqueued counts of broadcast ${broadcastId}`, () =>
        dynamoDb.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(broadcastId, item),
            UpdateExpression: `SET ${members.map((_, i) => `#p${i} = :n${i}`).join(', ')}, firstEnqueuedAt = if_not_exists(firstEnqueuedAt, :now), lastEnqueuedAt = :now, expiresAt = :expiresAt`,
            ExpressionAttributeNames: Object.fromEntries(
              members.map((partition, i) => [`#p${i}`, partitionAttribute(partition)]),
            ),
            ExpressionAttributeValues: {
              ...Object.fromEntries(members.map((partition, i) => [`:n${i}`, counts.get(partition)])),
              ':now': now,
              ':expiresAt': expiresAt(now),
            },
          }),
        ),
      ),
    ),
  ]);
}

/**
 * While the fan-out runs, the deadline is the latest enqueue so far + the timeout: consumers
 * reading the plan then never give up on a socket before the deadline the state machine ends up
 * judging by. One small conditional write per recordEnqueued; `lastEnqueuedAt` keeps it monotonic.
 */
async function extendDeadlineToEnqueue(tableName: string, broadcastId: string, now: number): Promise<void> {
  try {
    await withThrottlingRetries(`the deadline of broadcast ${broadcastId}`, () =>
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

/** The attribute of a count item holding the failures of one reason. */
const failedByAttribute = (reason: FailureReason): string => `failed_${reason}`;

/** One small write per consumer invocation, to one of the delivery count shards. */
export async function addDeliveryCounts(
  tableName: string,
  broadcastId: string,
  counts: DeliveryCounts,
  now = Date.now(),
  shard = Math.floor(Math.random() * DELIVERY_COUNT_SHARDS),
): Promise<void> {
  const reasons = FAILURE_REASONS.filter((reason) => (counts.failedBy?.[reason] ?? 0) !== 0);
  const unanswered = counts.unanswered ?? 0;
  await dynamoDb.send(
    new UpdateCommand({
      TableName: tableName,
      Key: key(broadcastId, deliveryCountItem(shard)),
      UpdateExpression: `ADD delivered :delivered, gone :gone, failed :failed${reasons.map((reason) => `, ${failedByAttribute(reason)} :${reason}`).join('')}${unanswered ? ', unanswered :unanswered' : ''} SET lastDeliveryAt = :now, expiresAt = :expiresAt`,
      ExpressionAttributeValues: {
        ':delivered': counts.delivered,
        ':gone': counts.gone,
        ':failed': counts.failed,
        ...Object.fromEntries(reasons.map((reason) => [`:${reason}`, counts.failedBy![reason]])),
        ...(unanswered && { ':unanswered': unanswered }),
        ':now': now,
        ':expiresAt': expiresAt(now),
      },
    }),
  );
}

/**
 * The counts of one invocation whose ADD failed, carried on a shard queue and written here once
 * DynamoDB answers: a PUT keyed by `countId`, so a carrier SQS delivers twice counts once.
 */
export async function putCarriedDeliveryCounts(
  tableName: string,
  broadcastId: string,
  countId: string,
  counts: DeliveryCounts,
  now = Date.now(),
): Promise<void> {
  const reasons = FAILURE_REASONS.filter((reason) => (counts.failedBy?.[reason] ?? 0) !== 0);
  await withThrottlingRetries(`the carried delivery counts of broadcast ${broadcastId}`, () =>
    dynamoDb.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...key(broadcastId, `${CARRIED_PREFIX}${countId}`),
          delivered: counts.delivered,
          gone: counts.gone,
          failed: counts.failed,
          ...Object.fromEntries(reasons.map((reason) => [failedByAttribute(reason), counts.failedBy![reason]])),
          ...(counts.unanswered && { unanswered: counts.unanswered }),
          lastDeliveryAt: now,
          expiresAt: expiresAt(now),
        },
      }),
    ),
  );
}

/**
 * Records a partition's enqueued count from a consumer, for a fan-out whose own write was lost
 * (DynamoDB did not answer after its tasks went out): the first task of a partition carries the
 * count. Written only where none is, before any of the task's sockets is counted delivered.
 */
export async function carryEnqueued(
  tableName: string,
  broadcastId: string,
  partition: number,
  count: number,
  now = Date.now(),
): Promise<void> {
  try {
    await withThrottlingRetries(`the enqueued count of broadcast ${broadcastId}`, () =>
      dynamoDb.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(broadcastId, enqueuedGroupItem(partition)),
          UpdateExpression:
            'SET #p = :n, firstEnqueuedAt = if_not_exists(firstEnqueuedAt, :now), lastEnqueuedAt = :now, expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(#p)',
          ExpressionAttributeNames: { '#p': partitionAttribute(partition) },
          ExpressionAttributeValues: { ':n': count, ':now': now, ':expiresAt': expiresAt(now) },
        }),
      ),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

const claimKey = (broadcastId: string, partition: number) => key(broadcastId, `${CLAIM_PREFIX}p${partition}`);

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
    await withThrottlingRetries(`the claim of partition ${partition} of broadcast ${broadcastId}`, () =>
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

/** A partition's failed-socket items all begin with this. */
export const failedSocketsPrefix = (partition: number): string =>
  `${FAILED_PREFIX}p${String(partition).padStart(5, '0')}#`;

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
  await withThrottlingRetries(`the failed sockets of broadcast ${broadcastId}`, () =>
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
    const page = await withThrottlingRetries(`the failed sockets of broadcast ${broadcastId}`, () =>
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
  await withThrottlingRetries(`the retaken counts of broadcast ${broadcastId}`, () =>
    dynamoDb.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...key(broadcastId, `${RETAKEN_PREFIX}${failed.writeId}`),
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

export const deliveryCountItem = (shard: number): string => `${DELIVERED_PREFIX}${String(shard).padStart(2, '0')}`;

/**
 * Sums every count item of the broadcast (one paginated Query; the message item is outside its
 * range). `client` lets a reader outside a handler (the local demo) bring its own endpoint.
 */
export async function readCounters(
  tableName: string,
  broadcastId: string,
  client: DynamoDBDocumentClient = dynamoDb,
): Promise<BroadcastCounters> {
  const counters: BroadcastCounters = {
    enqueued: new Map(),
    delivered: 0,
    gone: 0,
    failed: 0,
    failedBy: {},
    unanswered: 0,
  };
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: '#id = :id AND begins_with(#item, :prefix)',
        ExpressionAttributeNames: { '#id': BROADCAST_ID, '#item': ITEM },
        ExpressionAttributeValues: { ':id': broadcastId, ':prefix': COUNT_PREFIX },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    for (const row of page.Items ?? []) addCountItem(counters, row);
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return counters;
}

function addCountItem(counters: BroadcastCounters, row: Record<string, unknown>): void {
  const later = (a: number | undefined, b: unknown) => (typeof b === 'number' ? Math.max(a ?? 0, b) : a);
  const earlier = (a: number | undefined, b: unknown) => (typeof b === 'number' ? Math.min(a ?? Infinity, b) : a);
  if ((row[ITEM] as string).startsWith(DELIVERED_PREFIX)) {
    counters.delivered += (row.delivered as number) ?? 0;
    counters.gone += (row.gone as number) ?? 0;
    counters.failed += (row.failed as number) ?? 0;
    counters.unanswered = (counters.unanswered ?? 0) + ((row.unanswered as number) ?? 0);
    for (const reason of FAILURE_REASONS) {
      const count = row[failedByAttribute(reason)];
      if (typeof count === 'number' && count !== 0)
        counters.failedBy![reason] = (counters.failedBy![reason] ?? 0) + count;
    }
    counters.lastDeliveryAt = later(counters.lastDeliveryAt, row.lastDeliveryAt);
    return;
  }
  for (const [name, value] of Object.entries(row)) {
    const partition = /^p(\d+)$/.exec(name)?.[1];
    if (partition !== undefined) counters.enqueued.set(Number(partition), value as number);
  }
  counters.firstEnqueuedAt = earlier(counters.firstEnqueuedAt, row.firstEnqueuedAt);
  counters.lastEnqueuedAt = later(counters.lastEnqueuedAt, row.lastEnqueuedAt);
}

/** The plan and the summed counters: what ReadProgress and `swarmcast status` need. */
export async function getBroadcastState(tableName: string, broadcastId: string): Promise<BroadcastState> {
  const [plan, counters] = await Promise.all([
    getBroadcastPlan(tableName, broadcastId),
    readCounters(tableName, broadcastId),
  ]);
  return { broadcastId, ...plan, ...counters };
}

function groupByItem(partitions: readonly number[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const partition of partitions) {
    const item = enqueuedGroupItem(partition);
    groups.set(item, [...(groups.get(item) ?? []), partition]);
  }
  return groups;
}

export interface BroadcastSummary extends DeliveryCounts {
  broadcastId: string;
  /** Partitions visited (their connections enqueued). */
  partitions: number;
  /** Partitions planned but not visited: the ones a replay would send to. */
  failedPartitions: number[];
  /** Connections enqueued for delivery. */
  connections: number;
  /** From the start of the latest execution to the last delivery. */
  durationMs: number;
}

export interface BroadcastProgress {
  enqueued: number;
  accounted: number;
  done: boolean;
  /** The delivery deadline (epoch ms): deliveryDeadline of the state read. */
  deliverBy: number;
  /** Sockets still unaccounted for DELIVERY_GRACE_MS past the deadline: their counts are lost (a DLQ, a lost write). */
  timedOut: boolean;
  /** Whether the failed sockets are within toleratedFailedSocketsPercentage: when done and not, the execution fails with DeliveryIncomplete. */
  failedSocketsTolerated: boolean;
  /** One line for the execution's error cause: delivered, gone, failed and why. */
  cause: string;
  summary: BroadcastSummary;
}

/** Words for the failure reasons in a cause and in `swarmcast status`. */
export const FAILURE_REASON_TEXT: Record<FailureReason, string> = {
  deadline: 'throttled past the delivery deadline',
  slowReader: 'slow readers (429, buffer full, until the delivery deadline)',
  throttled: "429 from the account's throttle until the delivery deadline",
  forbidden: 'refused with 403',
  tooLarge: 'refused with 413 (too large)',
  refused: 'refused otherwise',
  unavailable: '5xx or no answer on every attempt',
  unqueued: 'not re-queued (SQS refused)',
};

/** "7,971 throttled past the delivery deadline, 3 refused with 403", the largest first. */
export function failureReasonsText(failedBy: FailureCounts = {}): string {
  return FAILURE_REASONS.filter((reason) => (failedBy[reason] ?? 0) > 0)
    .sort((a, b) => failedBy[b]! - failedBy[a]!)
    .map((reason) => `${failedBy[reason]!.toLocaleString('en-US')} ${FAILURE_REASON_TEXT[reason]}`)
    .join(', ');
}

/** Whether `failed` of `enqueued` sockets is within the tolerated percentage (compared in whole numbers: 0 % tolerates none). */
export function withinFailedSocketsTolerance(failed: number, enqueued: number, toleratedPercentage: number): boolean {
  return failed * 100 <= enqueued * toleratedPercentage;
}

/**
 * The one delivery deadline: `deliveryTimeoutMs` after the last enqueue (or the start), or the
 * plan's `deliverBy` if that is later (it only ever moves later). From the last enqueue, so a
 * redrive hours later gets a full timeout for its children's delivery; not from the last delivery:
 * a trickle of deliveries must not keep the AwaitDelivery loop going past the history limit (config.ts).
 */
export function deliveryDeadline(
  state: Pick<BroadcastState, 'startedAt' | 'lastEnqueuedAt' | 'deliveryTimeoutMs' | 'deliverBy'>,
): number {
  return Math.max(state.deliverBy ?? 0, Math.max(state.startedAt, state.lastEnqueuedAt ?? 0) + state.deliveryTimeoutMs);
}

/**
 * Delivery is done when every enqueued connection is delivered, gone or failed; consumers past
 * the deadline count what is left as failed, so it is done soon after the deadline. Whether the
 * failed ones are too many is the operator's setting (toleratedFailedSocketsPercentage).
 */
export function progressOf(
  state: BroadcastState,
  now = Date.now(),
  toleratedFailedSocketsPercentage = 0,
): BroadcastProgress {
  const enqueued = [...state.enqueued.values()].reduce((sum, count) => sum + count, 0);
  const accounted = state.delivered + state.gone + state.failed;
  const done = accounted >= enqueued;
  const deliveryEnd = done ? Math.max(state.lastDeliveryAt ?? state.startedAt, state.startedAt) : now;
  const deliverBy = deliveryDeadline(state);
  const failedPartitions: number[] = [];
  for (let partition = 0; partition < state.partitionCount; partition++)
    if (!state.enqueued.has(partition)) failedPartitions.push(partition);
  const failedPercent = enqueued > 0 ? ((state.failed * 100) / enqueued).toFixed(2).replace(/\.?0+$/, '') : '0';
  const reasons = failureReasonsText(state.failedBy);
  const cause =
    `${state.failed.toLocaleString('en-US')} of ${enqueued.toLocaleString('en-US')} sockets failed (${failedPercent} %, tolerated ${toleratedFailedSocketsPercentage} %)${reasons ? `: ${reasons}` : ''}; ` +
    `${state.delivered.toLocaleString('en-US')} delivered, ${state.gone.toLocaleString('en-US')} gone. \`swarmcast replay ${state.broadcastId}\` sends to the failed sockets again.`;
  return {
    enqueued,
    accounted,
    done,
    deliverBy,
    timedOut: !done && now > deliverBy + DELIVERY_GRACE_MS,
    failedSocketsTolerated: withinFailedSocketsTolerance(state.failed, enqueued, toleratedFailedSocketsPercentage),
    cause,
    summary: {
      broadcastId: state.broadcastId,
      partitions: state.enqueued.size,
      failedPartitions,
      connections: enqueued,
      delivered: state.delivered,
      gone: state.gone,
      failed: state.failed,
      failedBy: state.failedBy ?? {},
      unanswered: state.unanswered ?? 0,
      durationMs: deliveryEnd - state.startedAt,
    },
  };
}

/** One SQS message's delivery task: the broadcast it belongs to and SQS's id for the message (the same on every receive). */
export interface TaskMessage {
  broadcastId: string;
  messageId: string;
}

const doneKey = ({ broadcastId, messageId }: TaskMessage) => key(broadcastId, `${DONE_PREFIX}${messageId}`);
const inChunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * The message ids of `messages` whose tasks a consumer already finished. Consistent reads in
 * BatchGetItem calls of at most 100 keys; keys DynamoDB left unprocessed are asked again.
 */
export async function findDoneTasks(tableName: string, messages: readonly TaskMessage[]): Promise<Set<string>> {
  const done = new Set<string>();
  for (const chunk of inChunks(messages, AWS_LIMITS.dynamoDbBatchGetKeys.value)) {
    let keys: Record<string, unknown>[] | undefined = chunk.map(doneKey);
    for (let attempt = 1; keys && keys.length > 0; attempt++) {
      const asked: Record<string, unknown>[] = keys;
      const { Responses, UnprocessedKeys }: BatchGetCommandOutput = await withThrottlingRetries(
        `the finished tasks of ${chunk.length} messages`,
        () =>
          dynamoDb.send(
            new BatchGetCommand({
              RequestItems: {
                [tableName]: {
                  Keys: asked,
                  ConsistentRead: true,
                  ProjectionExpression: '#item',
                  ExpressionAttributeNames: { '#item': ITEM },
                },
              },
            }),
          ),
      );
      for (const row of Responses?.[tableName] ?? []) done.add(String(row[ITEM]).slice(DONE_PREFIX.length));
      keys = UnprocessedKeys?.[tableName]?.Keys;
      if (keys && keys.length > 0) {
        if (attempt === WRITE_ATTEMPTS)
          throw new ThrottledError(
            `DynamoDB left ${keys.length} finished-task keys unprocessed ${WRITE_ATTEMPTS} times`,
          );
        await sleep(jitteredBackoffMs(attempt, 100, 5_000));
      }
    }
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
    let requests: Record<string, unknown>[] | undefined = chunk.map((message) => ({
      PutRequest: { Item: { ...doneKey(message), doneAt: now, expiresAt: expiresAt(now) } },
    }));
    for (let attempt = 1; requests && requests.length > 0; attempt++) {
      const asked: Record<string, unknown>[] = requests;
      const { UnprocessedItems }: BatchWriteCommandOutput = await withThrottlingRetries(
        `the finished marks of ${chunk.length} tasks`,
        () => dynamoDb.send(new BatchWriteCommand({ RequestItems: { [tableName]: asked } })),
      );
      requests = UnprocessedItems?.[tableName];
      if (requests && requests.length > 0) {
        if (attempt === WRITE_ATTEMPTS)
          throw new ThrottledError(
            `DynamoDB left ${requests.length} finished marks unprocessed ${WRITE_ATTEMPTS} times`,
          );
        await sleep(jitteredBackoffMs(attempt, 100, 5_000));
      }
    }
  }
}

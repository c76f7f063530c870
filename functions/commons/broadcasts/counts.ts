/**
 * A broadcast's count items: connections enqueued per partition (SET once per partition) and
 * delivered/gone/failed (ADDed per consumer invocation to one of DELIVERY_COUNT_SHARDS items, or PUT
 * once when carried), summed by readCounters.
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamoDb } from '#commons/clients/dynamodb';
import { retryWithBackoff } from '#commons/helpers/retry';
import { FAILURE_REASONS, type FailureCounts } from '#commons/broadcasts/failure-reasons';
import {
  BROADCAST_ID,
  carriedCountItem,
  COUNT_PREFIX,
  DELIVERED_PREFIX,
  DELIVERY_COUNT_SHARDS,
  deliveryCountItem,
  enqueuedGroupItem,
  expiresAt,
  failedByAttribute,
  groupByItem,
  ITEM,
  key,
  partitionAttribute,
} from '#commons/broadcasts/items';
import { extendDeadlineToEnqueue } from '#commons/broadcasts/plan';

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

/** The counters of a broadcast, summed over its count items. */
export interface BroadcastCounters extends DeliveryCounts {
  /** Connections enqueued per visited partition. */
  enqueued: Map<number, number>;
  /** When the first partition's tasks were all queued (a replay keeps the first run's). */
  firstEnqueuedAt?: number;
  lastEnqueuedAt?: number;
  lastDeliveryAt?: number;
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
      const { Item } = await retryWithBackoff(`the enqueued counts of broadcast ${broadcastId}`, () =>
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
      retryWithBackoff(`the enqueued counts of broadcast ${broadcastId}`, () =>
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
  await retryWithBackoff(`the carried delivery counts of broadcast ${broadcastId}`, () =>
    dynamoDb.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...key(broadcastId, carriedCountItem(countId)),
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
    await retryWithBackoff(`the enqueued count of broadcast ${broadcastId}`, () =>
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

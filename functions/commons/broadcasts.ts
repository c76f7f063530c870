import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamoDb } from '#commons/clients/dynamodb';
import { BroadcastNotFoundError, InvalidBroadcastError } from '#commons/errors';
import { broadcastsTable } from '#commons/tables';

const BROADCAST_ID = broadcastsTable.partitionKey.name;
/** Broadcast records outlive RedriveExecution's 14-day window, then expire. */
const RECORD_RETENTION_SECONDS = 15 * 24 * 60 * 60;

/** A broadcast sends `message`; a sweep checks every connection and removes the gone ones. */
export type BroadcastKind = 'message' | 'sweep';

export interface DeliveryCounts {
  delivered: number;
  gone: number;
  failed: number;
}

/** The broadcast record: the message, the partitions planned, and progress counters. */
export interface BroadcastRecord extends DeliveryCounts {
  broadcastId: string;
  kind: BroadcastKind;
  message?: string;
  /** Every partition this broadcast was asked to visit, over all its executions. */
  partitions: number[];
  /** Connections enqueued per visited partition ("p<partition>" → count); set once per partition. */
  enqueued: Record<string, number>;
  startedAt: number;
  /** The broadcast fails when nothing is enqueued or delivered for this long while delivery is unfinished. */
  deliveryTimeoutMs: number;
  lastEnqueuedAt?: number;
  lastDeliveryAt?: number;
  expiresAt: number;
}

export const enqueuedKey = (partition: number): string => `p${partition}`;

export async function createBroadcast(
  tableName: string,
  fields: Pick<BroadcastRecord, 'broadcastId' | 'kind' | 'message' | 'partitions' | 'startedAt' | 'deliveryTimeoutMs'>,
): Promise<BroadcastRecord> {
  const record: BroadcastRecord = {
    ...fields,
    enqueued: {},
    delivered: 0,
    gone: 0,
    failed: 0,
    expiresAt: Math.floor(fields.startedAt / 1000) + RECORD_RETENTION_SECONDS,
  };
  try {
    await dynamoDb.send(
      new PutCommand({ TableName: tableName, Item: record, ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': BROADCAST_ID } }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // The id is the execution's name, unique per state machine: a record with the same id and
    // message is this execution's own, written by an earlier attempt of a retried Prepare.
    const existing = await getBroadcast(tableName, fields.broadcastId);
    if (existing.kind !== fields.kind || existing.message !== fields.message) {
      throw new InvalidBroadcastError(`broadcast ${fields.broadcastId} already exists; to send to its failed partitions again, start a replay with {"broadcastId", "partitions"}`);
    }
    return existing;
  }
  return record;
}

export async function getBroadcast(tableName: string, broadcastId: string, consistent = true): Promise<BroadcastRecord> {
  const { Item } = await dynamoDb.send(new GetCommand({ TableName: tableName, Key: { [BROADCAST_ID]: broadcastId }, ConsistentRead: consistent }));
  if (!Item) throw new BroadcastNotFoundError(`no broadcast with id ${broadcastId}`);
  return Item as BroadcastRecord;
}

/** Reads just what a consumer needs to deliver: the kind and the message. */
export async function getBroadcastPayload(tableName: string, broadcastId: string): Promise<Pick<BroadcastRecord, 'kind' | 'message'>> {
  const { Item } = await dynamoDb.send(
    new GetCommand({
      TableName: tableName,
      Key: { [BROADCAST_ID]: broadcastId },
      // Consumers may read a broadcast moments after Prepare wrote it: an eventually consistent miss would
      // park the message for a whole visibility timeout.
      ConsistentRead: true,
      ProjectionExpression: '#kind, #message',
      ExpressionAttributeNames: { '#kind': 'kind', '#message': 'message' },
    }),
  );
  if (!Item) throw new BroadcastNotFoundError(`no broadcast with id ${broadcastId}`);
  return Item as Pick<BroadcastRecord, 'kind' | 'message'>;
}

/** A replay adds partitions to the plan and restarts the clock. */
export async function beginReplay(tableName: string, broadcastId: string, partitions: number[], startedAt: number): Promise<BroadcastRecord> {
  const record = await getBroadcast(tableName, broadcastId);
  const planned = [...new Set([...record.partitions, ...partitions])].sort((a, b) => a - b);
  await dynamoDb.send(
    new UpdateCommand({
      TableName: tableName,
      Key: { [BROADCAST_ID]: broadcastId },
      // "partitions" is a DynamoDB reserved word.
      UpdateExpression: 'SET #partitions = :planned, startedAt = :startedAt',
      ExpressionAttributeNames: { '#partitions': 'partitions' },
      ExpressionAttributeValues: { ':planned': planned, ':startedAt': startedAt },
    }),
  );
  return { ...record, partitions: planned, startedAt };
}

/** SET clauses per UpdateItem, well inside the 4 KB expression limit. */
const PARTITIONS_PER_WRITE = 100;

/**
 * Records how many connections each partition enqueued. SET (not ADD) keeps it right when a
 * child execution runs again: a partition's count is written once, whatever the retries.
 */
export async function recordEnqueued(tableName: string, broadcastId: string, counts: ReadonlyMap<number, number>, now = Date.now()): Promise<void> {
  const entries = [...counts];
  for (let start = 0; start < entries.length; start += PARTITIONS_PER_WRITE) {
    const chunk = entries.slice(start, start + PARTITIONS_PER_WRITE);
    await dynamoDb.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [BROADCAST_ID]: broadcastId },
        UpdateExpression: `SET ${chunk.map((_, i) => `enqueued.#p${i} = :n${i}`).join(', ')}, lastEnqueuedAt = :now`,
        ExpressionAttributeNames: Object.fromEntries(chunk.map(([partition], i) => [`#p${i}`, enqueuedKey(partition)])),
        ExpressionAttributeValues: { ...Object.fromEntries(chunk.map(([, count], i) => [`:n${i}`, count])), ':now': now },
      }),
    );
  }
}

/** One write per consumer invocation, not per socket. */
export async function addDeliveryCounts(tableName: string, broadcastId: string, counts: DeliveryCounts, now = Date.now()): Promise<void> {
  await dynamoDb.send(
    new UpdateCommand({
      TableName: tableName,
      Key: { [BROADCAST_ID]: broadcastId },
      UpdateExpression: 'ADD delivered :delivered, gone :gone, failed :failed SET lastDeliveryAt = :now',
      ExpressionAttributeValues: { ':delivered': counts.delivered, ':gone': counts.gone, ':failed': counts.failed, ':now': now },
    }),
  );
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
  timedOut: boolean;
  summary: BroadcastSummary;
}

/** Delivery is done when every enqueued connection is delivered, gone or failed. */
export function progressOf(record: BroadcastRecord, now = Date.now()): BroadcastProgress {
  const enqueued = Object.values(record.enqueued).reduce((sum, count) => sum + count, 0);
  const accounted = record.delivered + record.gone + record.failed;
  const visited = new Set(Object.keys(record.enqueued));
  const done = accounted >= enqueued;
  const deliveryEnd = done ? Math.max(record.lastDeliveryAt ?? record.startedAt, record.startedAt) : now;
  // The timeout runs from the latest activity, not from the start: a redrive hours later runs
  // its children again and gets a full timeout for their delivery.
  const latestActivity = Math.max(record.startedAt, record.lastEnqueuedAt ?? 0, record.lastDeliveryAt ?? 0);
  return {
    enqueued,
    accounted,
    done,
    timedOut: !done && now > latestActivity + record.deliveryTimeoutMs,
    summary: {
      broadcastId: record.broadcastId,
      partitions: visited.size,
      failedPartitions: record.partitions.filter((partition) => !visited.has(enqueuedKey(partition))),
      connections: enqueued,
      delivered: record.delivered,
      gone: record.gone,
      failed: record.failed,
      durationMs: deliveryEnd - record.startedAt,
    },
  };
}

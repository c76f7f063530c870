/**
 * The key layout of the Broadcasts table: a broadcast's items all sit under its id (the partition
 * key), told apart by the sort key `item`. DynamoDB charges a write by the size of the whole item
 * and serves at most 1,000 WCU/s per partition, so nothing written during delivery shares an item
 * with the message or grows with the partition count:
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
 * expires with the broadcast (expiresAt). Each kind's reads and writes live beside this file: plan.ts,
 * counts.ts, claims.ts, failed-sockets.ts, done-marks.ts; progress.ts is the arithmetic over them.
 */
import { broadcastsTable } from '#commons/tables';
import type { FailureReason } from '#commons/broadcasts/failure-reasons';

export const BROADCAST_ID = broadcastsTable.partitionKey.name;
export const ITEM = broadcastsTable.sortKey.name;
export const MESSAGE_ITEM = 'message';
export const PLAN_ITEM = 'plan';
/** Every count item begins with this: ReadProgress Queries the range, never the message. */
export const COUNT_PREFIX = 'count#';
const ENQUEUED_PREFIX = `${COUNT_PREFIX}enqueued#`;
export const DELIVERED_PREFIX = `${COUNT_PREFIX}delivered#`;
const RETAKEN_PREFIX = `${DELIVERED_PREFIX}retaken#`;
const CARRIED_PREFIX = `${DELIVERED_PREFIX}carried#`;
const FAILED_PREFIX = 'failed#';
const CLAIM_PREFIX = 'claim#';
export const DONE_PREFIX = 'done#';
/** Partitions per enqueued-count item: 64 names "p9999" with their counts stay far under 1 KB. */
export const ENQUEUED_GROUP_SIZE = 64;
/** Items the delivery counts are spread over; ReadProgress sums them. */
export const DELIVERY_COUNT_SHARDS = 16;
/** Broadcast records outlive RedriveExecution's 14-day window, then expire. */
const RECORD_RETENTION_SECONDS = 15 * 24 * 60 * 60;

export const key = (broadcastId: string, item: string) => ({ [BROADCAST_ID]: broadcastId, [ITEM]: item });
export const expiresAt = (fromMs: number) => Math.floor(fromMs / 1000) + RECORD_RETENTION_SECONDS;
export const enqueuedGroupItem = (partition: number): string =>
  `${ENQUEUED_PREFIX}${String(Math.floor(partition / ENQUEUED_GROUP_SIZE)).padStart(4, '0')}`;
export const partitionAttribute = (partition: number): string => `p${partition}`;

/** The partitions of each enqueued-count item, for one write or read per item. */
export function groupByItem(partitions: readonly number[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const partition of partitions) {
    const item = enqueuedGroupItem(partition);
    groups.set(item, [...(groups.get(item) ?? []), partition]);
  }
  return groups;
}

export const deliveryCountItem = (shard: number): string => `${DELIVERED_PREFIX}${String(shard).padStart(2, '0')}`;
export const retakenCountItem = (writeId: string): string => `${RETAKEN_PREFIX}${writeId}`;
export const carriedCountItem = (countId: string): string => `${CARRIED_PREFIX}${countId}`;
/** The attribute of a count item holding the failures of one reason. */
export const failedByAttribute = (reason: FailureReason): string => `failed_${reason}`;

export const claimItem = (partition: number): string => `${CLAIM_PREFIX}p${partition}`;

/** A partition's failed-socket items all begin with this. */
export const failedSocketsPrefix = (partition: number): string =>
  `${FAILED_PREFIX}p${String(partition).padStart(5, '0')}#`;

export const doneItem = (messageId: string): string => `${DONE_PREFIX}${messageId}`;

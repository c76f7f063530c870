/**
 * The fan-out each Distributed Map child (functions/query-partitions.ts) runs over its batch of
 * partitions: connection ids read, enqueued on the shard queues, and each partition's count recorded.
 */
import { randomUUID } from 'node:crypto';
import { abandonRun } from '#commons/broadcasts/claims';
import { findEnqueued, recordEnqueued } from '#commons/broadcasts/counts';
import { readFailedSockets, removeFailedSockets, retakeFailedSockets } from '#commons/broadcasts/failed-sockets';
import type { BroadcastKind } from '#commons/broadcasts/plan';
import { queryPartition, type ConnectionTables } from '#commons/connections';
import { queryChannelPartition } from '#commons/memberships';
import { packDeliveryTasks, sendDeliveryTasks, shardFor } from '#commons/delivery-tasks';
import {
  isThrottlingError,
  isUnavailableError,
  PartitionFailedError,
  ThrottledError,
  UnavailableError,
} from '#commons/errors';
import { forEachWithConcurrency } from '#commons/helpers/concurrency';
import { logger } from '#commons/helpers/logger';

export interface FanOutSettings {
  tables: ConnectionTables & { broadcasts: string };
  shardQueueUrls: readonly string[];
  connectionIdsPerMessage: number;
  /** Partitions of one batch queried at once. */
  queryConcurrency: number;
}

export interface FanOutResult {
  broadcastId: string;
  /** Partitions whose connections this call enqueued. */
  partitions: number;
  /** Partitions skipped because an earlier run of this child already enqueued them. */
  alreadyEnqueued: number;
  connections: number;
  /** A failed-sockets replay: sockets of already reached partitions sent the message again. */
  resent?: number;
}

/**
 * The map child's work: read every connection id of the batch's partitions and enqueue each
 * partition's ids on the shard queues as soon as its own query is done, then record its count
 * once all its tasks are queued. Delivery thus starts with the first partition read, not the
 * batch's slowest. A partition already recorded is skipped, so a retried or redriven child does
 * not enqueue it again. A partition that fails does not stop the others; the child then fails
 * naming it, and a redrive re-runs just that one.
 *
 * Every task carries this call's run id, and a partition's first task its count: if DynamoDB
 * loses the count write after the tasks went out, the partition still fails here (so the state
 * machine retries the child), but its consumers record the count, and claim the partition for
 * this run, so the retry's (or a replay's) second set of tasks is dropped unsent.
 */
export async function fanOutPartitions(
  settings: FanOutSettings,
  broadcastId: string,
  kind: BroadcastKind,
  partitions: readonly number[],
  { resendFailedSockets = false, channel }: { resendFailedSockets?: boolean; channel?: string } = {},
): Promise<FanOutResult> {
  const enqueued = await findEnqueued(settings.tables.broadcasts, broadcastId, partitions);
  const resent = resendFailedSockets ? await resendFailed(settings, broadcastId, [...enqueued]) : undefined;
  const pending = partitions.filter((partition) => !enqueued.has(partition));
  const enqueuer = new PartitionEnqueuer(settings, broadcastId, shardFor(partitions[0] ?? 0), randomUUID());
  const counts = new Map<number, number>();
  const failed: number[] = [];
  let throttled = 0;
  let unavailable = 0;
  await forEachWithConcurrency(pending, settings.queryConcurrency, async (partition) => {
    try {
      const connectionIds = await readPartition(settings, kind, partition, channel);
      await enqueuer.enqueue(partition, connectionIds);
      counts.set(partition, connectionIds.length);
    } catch (error) {
      logger.error('partition could not be enqueued', { broadcastId, partition, error: error as Error });
      failed.push(partition);
      if (isThrottlingError(error)) throttled++;
      else if (isUnavailableError(error) || error instanceof DeliveryTasksNotSentError) unavailable++;
    }
  });

  const failedList = failed.sort((a, b) => a - b).join(', ');
  if (failed.length > 0 && throttled === failed.length) {
    throw new ThrottledError(
      `DynamoDB throttled the queries of partition(s) ${failedList} of broadcast ${broadcastId}`,
    );
  }
  if (failed.length > 0 && throttled + unavailable === failed.length) {
    throw new UnavailableError(
      `DynamoDB or SQS did not answer for partition(s) ${failedList} of broadcast ${broadcastId}`,
    );
  }
  if (failed.length > 0) {
    throw new PartitionFailedError(
      `could not enqueue partition(s) ${failedList} of broadcast ${broadcastId}; replay them once the cause is fixed`,
    );
  }
  return {
    broadcastId,
    partitions: counts.size,
    alreadyEnqueued: partitions.length - pending.length,
    connections: [...counts.values()].reduce((sum, n) => sum + n, 0),
    ...(resent !== undefined && { resent }),
  };
}

class DeliveryTasksNotSentError extends Error {
  override name = 'DeliveryTasksNotSentError';
}

interface QueriedPartition {
  partition: number;
  connectionIds: string[];
  settle: (failure?: unknown) => void;
}

/**
 * Sends queried partitions to the shard queues one group at a time: partitions whose query ends
 * while a group is being sent go together in the next, so SendMessageBatch calls and count
 * writes stay shared while no partition waits for a query other than its own.
 */
class PartitionEnqueuer {
  private waiting: QueriedPartition[] = [];
  private sending = false;

  constructor(
    private readonly settings: FanOutSettings,
    private readonly broadcastId: string,
    /** Round-robin over the shards continues from here, group after group. */
    private nextShard: number,
    /** Tells this call's tasks from those of another run of the same partitions. */
    private readonly run: string,
  ) {}

  /** Settles once the partition's tasks are all queued and its count recorded; rejects if not. */
  enqueue(partition: number, connectionIds: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({
        partition,
        connectionIds,
        settle: (failure) => (failure === undefined ? resolve() : reject(failure)),
      });
      if (!this.sending) void this.sendWaitingGroups();
    });
  }

  /** Never rejects: every failure settles the partitions it concerns. */
  private async sendWaitingGroups(): Promise<void> {
    this.sending = true;
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      try {
        await this.sendGroup(group);
      } catch (error) {
        for (const queried of group) queried.settle(error);
      }
    }
    this.sending = false;
  }

  private async sendGroup(group: readonly QueriedPartition[]): Promise<void> {
    const { settings, broadcastId } = this;
    const tasks = group.flatMap(({ partition, connectionIds }) =>
      packDeliveryTasks(broadcastId, partition, connectionIds, settings.connectionIdsPerMessage, undefined, this.run),
    );
    const unsent = await sendDeliveryTasks(tasks, settings.shardQueueUrls, this.nextShard);
    this.nextShard += tasks.length;
    // A partition counts as enqueued only when every one of its tasks is on a queue. One with a
    // task left unsent fails and is replayed whole: its sockets whose tasks did go out get the
    // message twice — rare (SQS refused the same entries five times) and logged.
    const unsentPartitions = new Set([...unsent].map((index) => tasks[index].partition));
    if (unsent.size > 0)
      logger.error('some delivery tasks could not be enqueued', { broadcastId, unsent: unsent.size });
    // Their tasks that did go out still deliver, unless a replay's run takes the partition over first.
    await Promise.all(
      [...unsentPartitions].map((partition) =>
        abandonRun(settings.tables.broadcasts, broadcastId, partition, this.run).catch((error) =>
          logger.error(
            'could not mark a partly enqueued run abandoned; a replay of the partition will be dropped if its tasks are consumed first',
            { broadcastId, partition, error: error as Error },
          ),
        ),
      ),
    );
    const sent = group.filter(({ partition }) => !unsentPartitions.has(partition));
    await recordEnqueued(
      settings.tables.broadcasts,
      broadcastId,
      new Map(sent.map(({ partition, connectionIds }) => [partition, connectionIds.length])),
    );
    for (const queried of group) {
      queried.settle(
        unsentPartitions.has(queried.partition)
          ? new DeliveryTasksNotSentError(`SQS did not take every delivery task of partition ${queried.partition}`)
          : undefined,
      );
    }
  }
}

/**
 * A failed-sockets replay, for partitions already reached: each failed-socket item is taken over
 * (its failures leave the counters), its ids enqueued as fresh tasks (a new delivery deadline),
 * then the item removed — so a second replay sends only to what this one could not deliver. A
 * child that dies between enqueueing and removing sends to those ids again when retried.
 */
async function resendFailed(
  settings: FanOutSettings,
  broadcastId: string,
  partitions: readonly number[],
): Promise<number> {
  let resent = 0;
  await forEachWithConcurrency(partitions, settings.queryConcurrency, async (partition) => {
    for (const failed of await readFailedSockets(settings.tables.broadcasts, broadcastId, partition)) {
      await retakeFailedSockets(settings.tables.broadcasts, broadcastId, failed);
      const tasks = packDeliveryTasks(broadcastId, partition, failed.connectionIds, settings.connectionIdsPerMessage);
      const unsent = await sendDeliveryTasks(tasks, settings.shardQueueUrls, shardFor(partition));
      if (unsent.size > 0)
        throw new PartitionFailedError(
          `could not enqueue the failed sockets of partition ${partition} of broadcast ${broadcastId}; replay again once the cause is fixed`,
        );
      await removeFailedSockets(settings.tables.broadcasts, broadcastId, failed);
      resent += failed.connectionIds.length;
    }
  });
  return resent;
}

/**
 * The ids a partition's tasks carry: its live connection ids (of the channel's partition, for a
 * channel broadcast: its expired memberships are left to the TTL), or for a sweep its rows past
 * expiresAt, which the consumer deletes without a call (no socket outlives connectionTtlSeconds).
 */
async function readPartition(
  settings: FanOutSettings,
  kind: BroadcastKind,
  partition: number,
  channel: string | undefined,
): Promise<string[]> {
  if (channel !== undefined) {
    const memberships = settings.tables.memberships;
    if (!memberships) throw new Error('a channel broadcast needs the Subscriptions table');
    return (await queryChannelPartition(memberships.subscriptions, channel, partition)).live;
  }
  const { live, expired } = await queryPartition(settings.tables.connections, partition);
  // Expired rows are swept now: DynamoDB's own TTL lags up to ~2 days.
  return kind === 'sweep' ? expired : live;
}

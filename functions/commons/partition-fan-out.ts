import { enqueuedKey, getBroadcast, recordEnqueued, type BroadcastKind } from '#commons/broadcasts';
import { queryPartition, removeConnections, type ConnectionTables } from '#commons/connections';
import { packDeliveryTasks, sendDeliveryTasks } from '#commons/delivery-tasks';
import { PartitionFailedError } from '#commons/errors';
import { logger } from '#commons/helpers/logger';
import { setConnectionCount } from '#commons/partitions';

export interface FanOutSettings {
  tables: ConnectionTables & { broadcasts: string };
  shardQueueUrls: readonly string[];
  connectionIdsPerMessage: number;
}

export interface FanOutResult {
  broadcastId: string;
  /** Partitions whose connections this call enqueued. */
  partitions: number;
  /** Partitions skipped because an earlier run of this child already enqueued them. */
  alreadyEnqueued: number;
  connections: number;
}

/**
 * The map child's work: for each partition of its batch, read every connection id and
 * enqueue them on the shard queues as delivery tasks. A partition already recorded as
 * enqueued is skipped, so a retried or redriven child sends nothing twice. Partitions that
 * fail do not stop the others; the child then fails naming them, and a redrive re-runs
 * just those.
 */
export async function fanOutPartitions(settings: FanOutSettings, broadcastId: string, kind: BroadcastKind, partitions: readonly number[]): Promise<FanOutResult> {
  const record = await getBroadcast(settings.tables.broadcasts, broadcastId);
  const result: FanOutResult = { broadcastId, partitions: 0, alreadyEnqueued: 0, connections: 0 };
  const failed: number[] = [];
  for (const partition of partitions) {
    if (record.enqueued[enqueuedKey(partition)] !== undefined) {
      result.alreadyEnqueued++;
      continue;
    }
    try {
      result.connections += await fanOutPartition(settings, broadcastId, kind, partition);
      result.partitions++;
    } catch (error) {
      logger.error('partition fan-out failed', { broadcastId, partition, error: error as Error });
      failed.push(partition);
    }
  }
  if (failed.length > 0) {
    throw new PartitionFailedError(`could not enqueue partition(s) ${failed.join(', ')} of broadcast ${broadcastId}; replay them once the cause is fixed`);
  }
  return result;
}

async function fanOutPartition(settings: FanOutSettings, broadcastId: string, kind: BroadcastKind, partition: number): Promise<number> {
  const { live, expired } = await queryPartition(settings.tables.connections, partition);
  if (kind === 'sweep') {
    // The sweep's repair: rows past their TTL go now (DynamoDB's own TTL lags up to
    // ~2 days), and the counter restarts from the live rows; consumers then decrement it
    // for each connection GetConnection reports gone.
    if (expired.length > 0) await removeConnections(settings.tables, partition, expired);
    await setConnectionCount(settings.tables.partitions, partition, live.length);
  }
  const tasks = packDeliveryTasks(broadcastId, partition, live, settings.connectionIdsPerMessage);
  await sendDeliveryTasks(tasks, settings.shardQueueUrls, partition);
  await recordEnqueued(settings.tables.broadcasts, broadcastId, partition, live.length);
  return live.length;
}

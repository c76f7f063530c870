/**
 * The messages on the shard queues: delivery tasks (and carried counts), how a partition's
 * connection ids are packed into tasks, and how tasks are sent to the queues.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { sqs } from '#commons/clients/sqs';
import { MAX_SQS_BATCH_ENTRIES, MAX_SQS_MESSAGE_BYTES } from '#commons/constants';
import { retryUnprocessed, type RetryPolicy } from '#commons/helpers/retry';
import { logger } from '#commons/helpers/logger';

/**
 * The body of one shard-queue message: connection ids of one partition to deliver one
 * broadcast to. `attempt` counts re-queues of ids that hit a 5xx or no answer; ids that waited
 * for budget or were throttled (429) go back with the same attempt, until the broadcast's
 * delivery deadline (the plan's `deliverBy`).
 */
export interface DeliveryTask {
  broadcastId: string;
  partition: number;
  attempt: number;
  connectionIds: string[];
  /** The fan-out run that enqueued these ids: only one run's tasks deliver to a partition (claimPartition). A failed-sockets replay has none. */
  run?: string;
  /** On a run's first task of a partition: the partition's enqueued count, recorded by the consumer if the fan-out's own write was lost. */
  enqueued?: number;
  /**
   * Set when these ids answered 429 on their last calls (a full buffer): how many rounds they have
   * gone back so (`true`, from an earlier version, counts as one). Each round waits longer on the
   * queue; past the deadline they fail as slow readers.
   */
  throttled?: true | number;
}

/** Delivery counts whose write failed, carried on a shard queue until DynamoDB answers (putCarriedDeliveryCounts). */
export interface CarriedCounts {
  carriedCounts: {
    broadcastId: string;
    countId: string;
    delivered: number;
    gone: number;
    failed: number;
    failedBy: Partial<Record<string, number>>;
    unanswered?: number;
    deliveredAt: number;
  };
}

export type ShardMessage = DeliveryTask | CarriedCounts;

export const isCarriedCounts = (message: ShardMessage): message is CarriedCounts => 'carriedCounts' in message;

/** Room left in an SQS message for the JSON around the ids (ids, quotes and commas aside). */
const ENVELOPE_BYTES = 1024;

export class DeliveryTaskError extends Error {
  override name = 'DeliveryTaskError';
}

/** A shard-queue message: a delivery task, or counts carried until they could be written. */
export function parseShardMessage(body: string): ShardMessage {
  let message: Partial<DeliveryTask & CarriedCounts>;
  try {
    message = JSON.parse(body);
  } catch {
    throw new DeliveryTaskError('message body is not JSON');
  }
  if (message?.carriedCounts === undefined) return validTask(message);
  const carried = message.carriedCounts;
  const counts = [
    carried?.delivered,
    carried?.gone,
    carried?.failed,
    carried?.deliveredAt,
    carried?.unanswered ?? 0,
    ...Object.values(carried?.failedBy ?? {}),
  ];
  if (
    typeof carried?.broadcastId !== 'string' ||
    typeof carried.countId !== 'string' ||
    !counts.every(Number.isInteger)
  ) {
    throw new DeliveryTaskError(
      'carried counts must be {broadcastId: string, countId: string, delivered, gone, failed, deliveredAt: integer, failedBy: {reason: integer}, unanswered?: integer}',
    );
  }
  return message as CarriedCounts;
}

export function parseDeliveryTask(body: string): DeliveryTask {
  let task: Partial<DeliveryTask>;
  try {
    task = JSON.parse(body);
  } catch {
    throw new DeliveryTaskError('message body is not JSON');
  }
  return validTask(task);
}

function validTask(task: Partial<DeliveryTask>): DeliveryTask {
  if (
    typeof task?.broadcastId !== 'string' ||
    !Number.isInteger(task.partition) ||
    !Number.isInteger(task.attempt) ||
    !Array.isArray(task.connectionIds) ||
    !task.connectionIds.every((id) => typeof id === 'string') ||
    (task.run !== undefined && typeof task.run !== 'string') ||
    (task.enqueued !== undefined && !Number.isInteger(task.enqueued)) ||
    (task.throttled !== undefined &&
      task.throttled !== true &&
      !(Number.isInteger(task.throttled) && (task.throttled as number) > 0))
  ) {
    throw new DeliveryTaskError(
      'message body must be {broadcastId: string, partition: integer, attempt: integer, connectionIds: string[], run?: string, enqueued?: integer, throttled?: true or a positive integer}',
    );
  }
  return task as DeliveryTask;
}

/**
 * Cuts a partition's connection ids into tasks of at most `idsPerTask` ids and at most
 * the SQS message size limit, whichever comes first.
 */
export function packDeliveryTasks(
  broadcastId: string,
  partition: number,
  connectionIds: readonly string[],
  idsPerTask: number,
  maxBytes = MAX_SQS_MESSAGE_BYTES,
  run?: string,
): DeliveryTask[] {
  const tasks: DeliveryTask[] = [];
  let current: string[] = [];
  let bytes = ENVELOPE_BYTES + Buffer.byteLength(broadcastId);
  const flush = () => {
    if (current.length > 0)
      tasks.push({
        broadcastId,
        partition,
        attempt: 0,
        connectionIds: current,
        ...(run !== undefined && { run, ...(tasks.length === 0 && { enqueued: connectionIds.length }) }),
      });
    current = [];
    bytes = ENVELOPE_BYTES + Buffer.byteLength(broadcastId);
  };
  for (const id of connectionIds) {
    const idBytes = Buffer.byteLength(id) + 3;
    if (current.length >= idsPerTask || bytes + idBytes > maxBytes) flush();
    current.push(id);
    bytes += idBytes;
  }
  flush();
  return tasks;
}

/** SQS refusing entries (Failed[]) or not answering: five tries, 0–200 ms up to 0–1.6 s apart. */
const SEND_RETRIES: RetryPolicy = { attempts: 5, baseMs: 100, capMs: 2_000, retryable: () => true };

/**
 * The shard (an index, taken modulo the shard count by sendDeliveryTasks) where a partition's
 * tasks start: the partition's own shard on the first attempt, one shard further on each retry,
 * so a re-queued task does not wait behind the backlog of the queue it was throttled on.
 */
export function shardFor(partition: number, attempt = 0): number {
  return partition + attempt;
}

/**
 * Sends tasks to the shard queues, `firstShard` onwards round-robin, in SendMessageBatch
 * calls of ≤ 10 entries and ≤ 1 MiB. Entries SQS reports in `Failed[]` are sent again with
 * backoff. Returns the indexes of the tasks that could not be sent after the last attempt;
 * every other task is on its queue. Never throws, so the caller knows exactly what went out.
 */
export async function sendDeliveryTasks(
  tasks: readonly ShardMessage[],
  shardQueueUrls: readonly string[],
  firstShard: number,
  delaySeconds = 0,
): Promise<Set<number>> {
  const byShard = new Map<string, SendMessageBatchRequestEntry[]>();
  tasks.forEach((task, index) => {
    const queueUrl = shardQueueUrls[(firstShard + index) % shardQueueUrls.length];
    const entries = byShard.get(queueUrl) ?? [];
    entries.push({ Id: String(index), MessageBody: JSON.stringify(task), DelaySeconds: delaySeconds || undefined });
    byShard.set(queueUrl, entries);
  });
  const unsent = new Set<number>();
  await Promise.all(
    [...byShard].map(async ([queueUrl, entries]) => {
      for (const batch of batchesOf(entries)) {
        for (const entry of await sendBatch(queueUrl, batch)) unsent.add(Number(entry.Id));
      }
    }),
  );
  return unsent;
}

/** One SendMessageBatch with its retries; returns the entries still not sent. */
async function sendBatch(
  queueUrl: string,
  batch: SendMessageBatchRequestEntry[],
): Promise<SendMessageBatchRequestEntry[]> {
  let lastError: unknown;
  const left = await retryUnprocessed(
    batch,
    async (pending) => {
      try {
        const { Failed = [] } = await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [...pending] }),
        );
        lastError = undefined;
        const failedIds = new Set(Failed.map((failure) => failure.Id));
        return pending.filter((entry) => failedIds.has(entry.Id));
      } catch (error) {
        // The whole call failed (after the SDK's own retries): nothing of `pending` went out.
        lastError = error;
        return pending;
      }
    },
    SEND_RETRIES,
  );
  if (lastError !== undefined)
    logger.error('SendMessageBatch failed', { queueUrl, entries: left.length, error: lastError as Error });
  return [...left];
}

/** Groups entries into SendMessageBatch calls of ≤ 10 entries and ≤ 1 MiB in total. */
function batchesOf(entries: SendMessageBatchRequestEntry[]): SendMessageBatchRequestEntry[][] {
  const batches: SendMessageBatchRequestEntry[][] = [];
  let batch: SendMessageBatchRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const entryBytes = Buffer.byteLength(entry.MessageBody ?? '');
    if (batch.length === MAX_SQS_BATCH_ENTRIES || (batch.length > 0 && bytes + entryBytes > MAX_SQS_MESSAGE_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += entryBytes;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

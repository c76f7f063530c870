/**
 * The PostMessage function: consumes the shard queues (one event source per queue) and delivers
 * each task's message to its sockets (functions/commons/delivery.ts).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ConnectionPoster, createManagementApiClient } from '#commons/clients/management-api';
import { DeliveryService, DeliveryTally, FinishedTasks } from '#commons/delivery';
import { isCarriedCounts, parseShardMessage, type ShardMessage } from '#commons/delivery-tasks';
import { ENV } from '#commons/environment';
import { getStringFromEnv } from '#commons/helpers/env';
import { recordCallStats, recordDeliveryCounts, withMetrics } from '#commons/helpers/metrics';
import { DynamoDbLeaseStore } from '#commons/rate-budget';
import { readSettings } from '#commons/settings';
import { shardQueueUrlsFromEnv } from '#commons/shard-queues';

const endpoint = getStringFromEnv(ENV.connectionsEndpoint);
const settings = readSettings([
  'postConcurrency',
  'maxDeliveryAttempts',
  'postRetriesPerInvocation',
  'deliveryRatePerSecond',
  'partitions',
  'channelPartitions',
]);
const { postConcurrency } = settings;
const managementApi = createManagementApiClient(endpoint);
const tables = {
  connections: getStringFromEnv(ENV.connectionsTable),
  broadcasts: getStringFromEnv(ENV.broadcastsTable),
  memberships: {
    subscriptions: getStringFromEnv(ENV.subscriptionsTable),
    channelPartitions: settings.channelPartitions,
  },
};
const shardQueueUrls = shardQueueUrlsFromEnv();
const delivery = new DeliveryService(
  {
    tables,
    partitionCount: settings.partitions,
    shardQueueUrls,
    postConcurrency,
    maxDeliveryAttempts: settings.maxDeliveryAttempts,
    retriesPerInvocation: settings.postRetriesPerInvocation,
    retryBaseMs: 100, // backoff base: the first retry waits up to 200 ms, the second up to 400 ms
    deliveryRatePerSecond: settings.deliveryRatePerSecond,
    leaseStore: new DynamoDbLeaseStore(getStringFromEnv(ENV.rateBudgetTable)),
  },
  new ConnectionPoster(endpoint, managementApi, postConcurrency),
);
/**
 * Shard-queue consumer. Each message is one delivery task; a task that throws is reported
 * in batchItemFailures and only that message is received again (then its DLQ). Every call
 * is granted by the account's delivery budget; what the budget cannot grant before the
 * invocation ends goes back to the queue. The counts of the whole batch go to the broadcast
 * record in one write; if DynamoDB does not take it, they ride a shard queue until it does.
 * A task an earlier receive of the same message finished is not delivered again.
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  withMetrics(() => deliverBatch(event, context));

async function deliverBatch(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // A processor per invocation: it holds the batch's state, and the local stack runs
  // several invocations of this module at once (Lambda never does).
  const processor = new BatchProcessor(EventType.SQS);
  const tally = new DeliveryTally(tables.broadcasts, shardQueueUrls);
  const invocation = delivery.newInvocation(context.getRemainingTimeInMillis());
  const messages = new Map(event.Records.map((record) => [record.messageId, parseRecord(record)]));
  // Only a message SQS delivered before can have been finished by an earlier receive: the first receives need no lookup.
  const tasks = event.Records.flatMap(({ messageId, attributes }) => {
    const message = messages.get(messageId)!;
    return attributes.ApproximateReceiveCount === '1' || message instanceof Error || isCarriedCounts(message)
      ? []
      : [{ broadcastId: message.broadcastId, messageId }];
  });
  const finished = await FinishedTasks.lookUp(tables.broadcasts, tasks);
  const deliverRecord = async (record: SQSRecord): Promise<void> => {
    const message = messages.get(record.messageId)!;
    if (message instanceof Error) throw message;
    if (isCarriedCounts(message)) return delivery.writeCarried(message);
    if (finished.wasFinished(record.messageId)) return;
    await delivery.deliver(message, tally, invocation);
    finished.finished({ broadcastId: message.broadcastId, messageId: record.messageId });
  };
  const response = await processPartialResponse(event, deliverRecord, processor, { context });
  // The totals before the flush: it empties the tally.
  recordDeliveryCounts(tally.totals());
  recordCallStats(invocation.stats);
  await Promise.all([tally.flush(), finished.flush()]);
  return response;
}

/** A body that is not a shard message fails only its own record. */
function parseRecord(record: SQSRecord): ShardMessage | Error {
  try {
    return parseShardMessage(record.body);
  } catch (error) {
    return error as Error;
  }
}

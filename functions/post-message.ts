import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ConnectionPoster, createManagementApiClient } from '#commons/clients/management-api';
import { DeliveryService } from '#commons/delivery';
import { parseDeliveryTask } from '#commons/delivery-tasks';
import { ENV } from '#commons/environment';
import { getIntegerFromEnv, getListFromEnv, getStringFromEnv } from '#commons/helpers/env';

const endpoint = getStringFromEnv(ENV.connectionsEndpoint);
const postConcurrency = getIntegerFromEnv(ENV.postConcurrency, { min: 1, max: 1_000 });
const managementApi = createManagementApiClient(endpoint);
const delivery = new DeliveryService(
  {
    tables: {
      connections: getStringFromEnv(ENV.connectionsTable),
      partitions: getStringFromEnv(ENV.partitionsTable),
      broadcasts: getStringFromEnv(ENV.broadcastsTable),
    },
    shardQueueUrls: getListFromEnv(ENV.shardQueueUrls),
    postConcurrency,
    maxDeliveryAttempts: getIntegerFromEnv(ENV.maxDeliveryAttempts, { min: 1 }),
    retriesPerInvocation: 2,
    retryBaseMs: 100,
  },
  new ConnectionPoster(endpoint, managementApi, postConcurrency),
  managementApi,
);
const processor = new BatchProcessor(EventType.SQS);

const deliverRecord = async (record: SQSRecord): Promise<void> => delivery.deliver(parseDeliveryTask(record.body));

/**
 * Shard-queue consumer. Each message is one delivery task; a task that throws is reported
 * in batchItemFailures and only that message is received again (then its DLQ).
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, deliverRecord, processor, { context });

/** The state machine's QueryPartitions task, run by each child of the Distributed Map "FanOut". */
import type { BroadcastKind } from '#commons/broadcasts/plan';
import { ENV } from '#commons/environment';
import { asRetryable } from '#commons/errors';
import { getStringFromEnv } from '#commons/helpers/env';
import { recordFanOut, withMetrics } from '#commons/helpers/metrics';
import { fanOutPartitions, type FanOutResult } from '#commons/partition-fan-out';
import { readSettings } from '#commons/settings';
import { shardQueueUrlsFromEnv } from '#commons/shard-queues';

const { channelPartitions, ...readOnes } = readSettings([
  'connectionIdsPerMessage',
  'queryConcurrency',
  'channelPartitions',
]);
const settings = {
  tables: {
    connections: getStringFromEnv(ENV.connectionsTable),
    broadcasts: getStringFromEnv(ENV.broadcastsTable),
    memberships: {
      subscriptions: getStringFromEnv(ENV.subscriptionsTable),
      channelPartitions,
    },
  },
  shardQueueUrls: shardQueueUrlsFromEnv(),
  ...readOnes,
};

/** The Distributed Map's ItemBatcher gives each child a batch of partitions. */
export interface QueryPartitionsEvent {
  Items: number[];
  /** channel: the partitions are that channel's (docs/channels.md); null or absent: connection partitions. */
  BatchInput: { broadcastId: string; kind: BroadcastKind; channel?: string | null; resendFailedSockets?: boolean };
}

/** QueryPartitions task (map child): enqueue every connection of the batch's partitions. DynamoDB or SQS not answering ends in UnavailableError, which the state machine retries. */
export const handler = async ({ Items, BatchInput }: QueryPartitionsEvent): Promise<FanOutResult> =>
  withMetrics(async () => {
    const result = await fanOutPartitions(settings, BatchInput.broadcastId, BatchInput.kind, Items, {
      resendFailedSockets: BatchInput.resendFailedSockets === true,
      channel: BatchInput.channel ?? undefined,
    }).catch((error) => {
      throw asRetryable(error, `partitions ${Items.join(', ')} of broadcast ${BatchInput.broadcastId}`);
    });
    recordFanOut(result.partitions, result.connections);
    return result;
  });

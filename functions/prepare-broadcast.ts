/** The state machine's Prepare task: the first state of every broadcast, replay and sweep. */
import { beginReplay, createBroadcast } from '#commons/broadcasts/plan';
import { frameWithBroadcastId, parseBroadcastRequest } from '#commons/broadcast-request';
import { ENV } from '#commons/environment';
import { getStringFromEnv } from '#commons/helpers/env';
import { readSettings } from '#commons/settings';
import type { BroadcastKind } from '#commons/broadcasts/plan';
import { InvalidBroadcastError } from '#commons/errors';

const broadcastsTable = getStringFromEnv(ENV.broadcastsTable);
const settings = readSettings([
  'partitions',
  'channelPartitions',
  'deliveryTimeoutSeconds',
  'broadcastIdEnvelope',
  'mapMaxConcurrency',
  'partitionsPerChild',
  'toleratedFailurePercentage',
  'toleratedFailedSocketsPercentage',
  'progressPollSeconds',
]);
const partitionCount = settings.partitions;
const channelPartitions = settings.channelPartitions;
const deliveryTimeoutMs = settings.deliveryTimeoutSeconds * 1000;
const broadcastIdEnvelope = settings.broadcastIdEnvelope;
/** The state machine reads these through *Path fields and task parameters, so they are configuration, not ASL literals. */
const mapConfig = {
  maxConcurrency: settings.mapMaxConcurrency,
  partitionsPerChild: settings.partitionsPerChild,
  toleratedFailurePercentage: settings.toleratedFailurePercentage,
  /** Read by ReadProgress, which decides whether the failed sockets fail the execution. */
  toleratedFailedSocketsPercentage: settings.toleratedFailedSocketsPercentage,
  progressPollSeconds: settings.progressPollSeconds,
};

export interface PrepareEvent {
  input: unknown;
  executionName: string;
}

export interface PreparedBroadcast {
  broadcastId: string;
  kind: BroadcastKind;
  /** A channel broadcast's channel (its partitions are the channel's); null: every socket. The map's BatchInput reads it either way. */
  channel: string | null;
  partitions: number[];
  /** A failed-sockets replay: map children send to the failed sockets of the partitions already reached. */
  resendFailedSockets: boolean;
  startedAt: number;
  config: typeof mapConfig;
}

/**
 * Prepare task: validates the request (a bad one fails here, before any partition is
 * visited), stores the broadcast, and lists the partitions the map will visit: every one of
 * them, 0..partitions-1, since a connection counter may be wrong (a lost $disconnect, a failed
 * decrement) and would hide live connections. A new broadcast's id is its execution's name.
 */
export const handler = async ({ input, executionName }: PrepareEvent): Promise<PreparedBroadcast> => {
  const request = parseBroadcastRequest(input, partitionCount);
  const startedAt = Date.now();
  if (request.kind === 'replay') {
    const plan = await beginReplay(
      broadcastsTable,
      request.broadcastId,
      { partitionCount, channelPartitions },
      startedAt,
    );
    const partitions = request.partitions ?? Array.from({ length: plan.partitionCount }, (_, partition) => partition);
    const beyond = partitions.find((partition) => partition >= plan.partitionCount);
    if (plan.channel !== undefined && beyond !== undefined)
      throw new InvalidBroadcastError(
        `broadcast ${request.broadcastId} went to channel "${plan.channel}", whose partitions are 0 to ${plan.partitionCount - 1}; there is no partition ${beyond}`,
      );
    return {
      broadcastId: request.broadcastId,
      kind: plan.kind,
      channel: plan.channel ?? null,
      partitions,
      resendFailedSockets: request.failedSockets,
      startedAt,
      config: mapConfig,
    };
  }
  const kind = request.kind === 'sweep' ? 'sweep' : 'message';
  const channel = request.kind === 'message' ? request.channel : undefined;
  // A channel broadcast visits the channel's partitions instead of the connection partitions.
  const plannedPartitions = channel === undefined ? partitionCount : channelPartitions;
  await createBroadcast(broadcastsTable, {
    broadcastId: executionName,
    kind,
    channel,
    // Stored framed: consumers send the stored text as it is, and a replay sends the same frame.
    message:
      request.kind !== 'message'
        ? undefined
        : broadcastIdEnvelope
          ? frameWithBroadcastId(executionName, request.message)
          : request.message,
    partitionCount: plannedPartitions,
    startedAt,
    deliveryTimeoutMs,
  });
  const partitions = Array.from({ length: plannedPartitions }, (_, partition) => partition);
  return {
    broadcastId: executionName,
    kind,
    channel: channel ?? null,
    partitions,
    resendFailedSockets: false,
    startedAt,
    config: mapConfig,
  };
};

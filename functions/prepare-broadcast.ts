/** The state machine's Prepare task: the first state of every broadcast, replay and sweep. */
import { beginReplay, createBroadcast } from '#commons/broadcasts/plan';
import { frameWithBroadcastId, parseBroadcastRequest } from '#commons/broadcast-request';
import { ENV } from '#commons/environment';
import { getIntegerFromEnv, getStringFromEnv } from '#commons/helpers/env';
import type { BroadcastKind } from '#commons/broadcasts/plan';

const broadcastsTable = getStringFromEnv(ENV.broadcastsTable);
const partitionCount = getIntegerFromEnv(ENV.partitionCount, { min: 1 });
const deliveryTimeoutMs = getIntegerFromEnv(ENV.deliveryTimeoutSeconds, { min: 1 }) * 1000;
const broadcastIdEnvelope = getIntegerFromEnv(ENV.broadcastIdEnvelope, { min: 0, max: 1 }) === 1;
/** The state machine reads these through *Path fields and task parameters, so they are configuration, not ASL literals. */
const mapConfig = {
  maxConcurrency: getIntegerFromEnv(ENV.mapMaxConcurrency, { min: 1, max: 10_000 }),
  partitionsPerChild: getIntegerFromEnv(ENV.partitionsPerChild, { min: 1 }),
  toleratedFailurePercentage: getIntegerFromEnv(ENV.toleratedFailurePercentage, { min: 0, max: 100 }),
  /** Read by ReadProgress, which decides whether the failed sockets fail the execution. */
  toleratedFailedSocketsPercentage: getIntegerFromEnv(ENV.toleratedFailedSocketsPercentage, { min: 0, max: 100 }),
  progressPollSeconds: getIntegerFromEnv(ENV.progressPollSeconds, { min: 1 }),
};

export interface PrepareEvent {
  input: unknown;
  executionName: string;
}

export interface PreparedBroadcast {
  broadcastId: string;
  kind: BroadcastKind;
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
    const plan = await beginReplay(broadcastsTable, request.broadcastId, partitionCount, startedAt);
    const partitions = request.partitions ?? Array.from({ length: plan.partitionCount }, (_, partition) => partition);
    return {
      broadcastId: request.broadcastId,
      kind: plan.kind,
      partitions,
      resendFailedSockets: request.failedSockets,
      startedAt,
      config: mapConfig,
    };
  }
  const kind = request.kind === 'sweep' ? 'sweep' : 'message';
  await createBroadcast(broadcastsTable, {
    broadcastId: executionName,
    kind,
    // Stored framed: consumers send the stored text as it is, and a replay sends the same frame.
    message:
      request.kind !== 'message'
        ? undefined
        : broadcastIdEnvelope
          ? frameWithBroadcastId(executionName, request.message)
          : request.message,
    partitionCount,
    startedAt,
    deliveryTimeoutMs,
  });
  const partitions = Array.from({ length: partitionCount }, (_, partition) => partition);
  return { broadcastId: executionName, kind, partitions, resendFailedSockets: false, startedAt, config: mapConfig };
};

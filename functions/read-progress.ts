/**
 * The state machine's ReadProgress task, polled by the AwaitDelivery loop until delivery is done
 * or times out.
 */
import { extendDeliverBy, getBroadcastState } from '#commons/broadcasts/plan';
import { progressOf, type BroadcastProgress } from '#commons/broadcasts/progress';
import { ENV } from '#commons/environment';
import { asRetryable } from '#commons/errors';
import { getStringFromEnv } from '#commons/helpers/env';

const broadcastsTable = getStringFromEnv(ENV.broadcastsTable);

export interface ReadProgressEvent {
  broadcastId: string;
  /** From Prepare's $.config: the execution's tolerance of failed sockets, in percent. */
  toleratedFailedSocketsPercentage?: number;
}

/**
 * ReadProgress task: the broadcast's plan and summed counters, whether delivery is done (and good
 * enough), and its summary. Runs after the fan-out, so it knows the last enqueue: it stores the
 * deadline that follows in the plan, where consumers read it. A DynamoDB that does not answer ends
 * in UnavailableError, which the state machine retries: the broadcast outlives the outage instead
 * of failing on a read.
 */
export const handler = async (event: ReadProgressEvent): Promise<BroadcastProgress> => {
  try {
    const state = await getBroadcastState(broadcastsTable, event.broadcastId);
    const progress = progressOf(state, Date.now(), event.toleratedFailedSocketsPercentage ?? 0);
    if (!progress.done && progress.deliverBy !== state.deliverBy)
      await extendDeliverBy(broadcastsTable, event.broadcastId, progress.deliverBy);
    return progress;
  } catch (error) {
    throw asRetryable(error, `DynamoDB did not answer the progress read of broadcast ${event.broadcastId}`);
  }
};

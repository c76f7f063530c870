import { getBroadcastState, progressOf, type BroadcastProgress } from '#commons/broadcasts';
import { ENV } from '#commons/environment';
import { getStringFromEnv } from '#commons/helpers/env';

const broadcastsTable = getStringFromEnv(ENV.broadcastsTable);

export interface ReadProgressEvent {
  broadcastId: string;
  /** From Prepare's $.config: the execution's tolerance of failed sockets, in percent. */
  toleratedFailedSocketsPercentage?: number;
}

/** ReadProgress task: the broadcast's plan and summed counters, whether delivery is done (and good enough), and its summary. */
export const handler = async (event: ReadProgressEvent): Promise<BroadcastProgress> =>
  progressOf(await getBroadcastState(broadcastsTable, event.broadcastId), Date.now(), event.toleratedFailedSocketsPercentage ?? 0);

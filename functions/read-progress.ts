import { getBroadcastState, progressOf, type BroadcastProgress } from '#commons/broadcasts';
import { ENV } from '#commons/environment';
import { getStringFromEnv } from '#commons/helpers/env';

const broadcastsTable = getStringFromEnv(ENV.broadcastsTable);

/** ReadProgress task: the broadcast's plan and summed counters, whether delivery is done, and its summary. */
export const handler = async (event: { broadcastId: string }): Promise<BroadcastProgress> => progressOf(await getBroadcastState(broadcastsTable, event.broadcastId));

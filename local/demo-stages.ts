/**
 * Where the demo's time goes: each stage of one broadcast as milliseconds since its execution
 * started, read from what really happened — the execution history (GetExecutionHistory, as the
 * CLI reads it), the broadcast's count items, and the clients' own receive times.
 */
import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readCounters } from '#commons/broadcasts/counts';

/** Milliseconds since the execution started; null when the event never happened. */
export interface DemoStages {
  /** Prepare exited: the message stored and the partitions listed. */
  prepared: number | null;
  /** The FanOut Map Run started and ended (succeeded, failed or aborted). */
  fanOutStarted: number | null;
  fanOutEnded: number | null;
  /** The first and last partition whose delivery tasks were all on the shard queues. */
  firstEnqueued: number | null;
  lastEnqueued: number | null;
  /** The first and last client to receive the message. */
  firstDelivery: number | null;
  lastDelivery: number | null;
}

const MAP_RUN_ENDS = new Set(['MapRunSucceeded', 'MapRunFailed', 'MapRunAborted']);

export async function readDemoStages({
  sfn,
  dynamoDb,
  executionArn,
  broadcastsTable,
  broadcastId,
  arrivals,
}: {
  sfn: SFNClient;
  /** A client of the stack's DynamoDB (the handlers' own clients live in their function processes). */
  dynamoDb: DynamoDBDocumentClient;
  executionArn: string;
  broadcastsTable: string;
  broadcastId: string;
  /** Each client's first receive time (ms since epoch). */
  arrivals: readonly number[];
}): Promise<DemoStages> {
  const [events, counters] = await Promise.all([
    executionHistory(sfn, executionArn),
    readCounters(broadcastsTable, broadcastId, dynamoDb),
  ]);
  const startedAt = events.find((event) => event.type === 'ExecutionStarted')?.timestamp?.getTime();
  if (startedAt === undefined) throw new Error(`execution ${executionArn} has no ExecutionStarted event`);
  const since = (at: number | undefined) => (at === undefined ? null : at - startedAt);
  const eventTime = (matches: (event: HistoryEvent) => boolean) => events.find(matches)?.timestamp?.getTime();
  return {
    prepared: since(
      eventTime((event) => event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === 'Prepare'),
    ),
    fanOutStarted: since(eventTime((event) => event.type === 'MapRunStarted')),
    fanOutEnded: since(eventTime((event) => MAP_RUN_ENDS.has(event.type!))),
    firstEnqueued: since(counters.firstEnqueuedAt),
    lastEnqueued: since(counters.lastEnqueuedAt),
    // reduce, not Math.min(...): 100,000 arguments overflow the stack
    firstDelivery: since(arrivals.length ? arrivals.reduce((a, b) => Math.min(a, b)) : undefined),
    lastDelivery: since(arrivals.length ? arrivals.reduce((a, b) => Math.max(a, b)) : undefined),
  };
}

async function executionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false, nextToken }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

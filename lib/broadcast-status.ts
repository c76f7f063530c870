/**
 * What the CLI reads about a broadcast (or sweep, or replay): only through the Step
 * Functions API, so it works the same against AWS and the local stack.
 */
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
} from '@aws-sdk/client-sfn';
import type { BroadcastProgress, BroadcastSummary } from '#commons/broadcasts/progress';
import type { FailureCounts } from '#commons/broadcasts/failure-reasons';
import { replayNumber } from './broadcast-ids';
import type { Target } from './target';
import { READ_PROGRESS_STATE } from '../statemachines/broadcast-contract';

/** Map Run items are partitions (the ItemsPath is the partition list). */
export interface PartitionCounts {
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  /** Failed, timed out or aborted: the items a redrive runs again. */
  failed: number;
}

export interface DeliveryCounters {
  /** Connections enqueued for delivery by the partitions visited so far. */
  enqueued: number;
  /** Delivered + gone + failed: delivery is done when this reaches `enqueued`. */
  accounted: number;
  delivered: number;
  gone: number;
  failed: number;
  /** `failed` by reason. */
  failedBy?: FailureCounts;
  /** Posts that got no answer and were made again: at most this many sockets have the message twice. */
  unanswered?: number;
}

export type ExecutionKind = 'message' | 'sweep' | 'replay';

export interface ReplayInfo {
  id: string;
  status: string;
  startDate?: string;
  /** From its output once it succeeded: partitions still not reached. */
  failedPartitions?: number[];
}

export interface BroadcastStatus {
  /** The execution's name: the broadcast id, or `<id>-replay-N`, or `sweep-…`. */
  id: string;
  /** The broadcast this execution works for: `id` itself, or the one a replay replays. */
  broadcastId: string;
  kind: ExecutionKind;
  /** A replay's input: the partitions it was asked to visit again. */
  replayPartitions?: number[];
  /** A broadcast's input: the message it sends (a replay's is its broadcast's). */
  message?: unknown;
  /** A channel broadcast's channel (its input's); absent: every socket. */
  channel?: string;
  /** RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE. */
  status: string;
  executionArn: string;
  startDate?: string;
  stopDate?: string;
  redriveCount: number;
  error?: string;
  cause?: string;
  /** Undefined until the Map Run has started. */
  partitions?: PartitionCounts;
  /** Undefined until the first progress read (or the final output). */
  delivery?: DeliveryCounters;
  /** The final output, once succeeded. */
  summary?: BroadcastSummary;
  /** Replay executions of this broadcast (`<id>-replay-N` started with `{"broadcastId": id}`), oldest first. */
  replays: ReplayInfo[];
  /** The highest N of any execution named `<id>-replay-N`, a replay or not: the next replay's name must be past it. */
  highestReplayName?: number;
}

/** The execution named `id` under the state machine (the ARN scheme is the same on AWS and locally). */
export function executionArnOf(stateMachineArn: string, id: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${id}`;
}

export const isRunning = (status: string): boolean => status === 'RUNNING' || status === 'PENDING_REDRIVE';

export async function readBroadcastStatus(
  target: Target,
  id: string,
  { withReplays = true } = {},
): Promise<BroadcastStatus> {
  const executionArn = executionArnOf(target.stateMachineArn, id);
  const execution = await target.sfn.send(new DescribeExecutionCommand({ executionArn }));
  const summary = execution.status === 'SUCCEEDED' ? parseJson<BroadcastSummary>(execution.output) : undefined;
  const [partitions, progress, found] = await Promise.all([
    readPartitionCounts(target, executionArn),
    summary ? undefined : readLatestProgress(target, executionArn),
    withReplays ? readReplays(target, id, execution.startDate) : { replays: [], highestReplayName: 0 },
  ]);
  const { replays, highestReplayName } = found;
  const input = parseJson<Record<string, unknown>>(execution.input);
  return {
    id,
    broadcastId: typeof input?.broadcastId === 'string' ? input.broadcastId : id,
    kind: kindOf(execution),
    replayPartitions: Array.isArray(input?.partitions) ? (input.partitions as number[]) : undefined,
    message: input?.message,
    ...(typeof input?.channel === 'string' && { channel: input.channel }),
    status: execution.status ?? 'UNKNOWN',
    executionArn,
    startDate: execution.startDate?.toISOString(),
    stopDate: execution.stopDate?.toISOString(),
    redriveCount: execution.redriveCount ?? 0,
    error: execution.error,
    cause: execution.cause,
    partitions,
    delivery: summary ? countersOfSummary(summary) : progress && countersOfProgress(progress),
    summary,
    replays,
    highestReplayName,
  };
}

function channelOf(execution: DescribeExecutionCommandOutput): { channel?: string } {
  const channel = parseJson<Record<string, unknown>>(execution.input)?.channel;
  return typeof channel === 'string' ? { channel } : {};
}

function kindOf(execution: DescribeExecutionCommandOutput): ExecutionKind {
  const input = parseJson<Record<string, unknown>>(execution.input);
  if (input?.kind === 'sweep') return 'sweep';
  if (input && 'broadcastId' in input) return 'replay';
  return 'message';
}

/**
 * The FanOut Map Run's items. A redrive reuses its Map Run, but a Retry of the Map state starts
 * a new one: the latest started is current, whatever order ListMapRuns answers in.
 */
async function readPartitionCounts(target: Target, executionArn: string): Promise<PartitionCounts | undefined> {
  const { mapRuns = [] } = await target.sfn.send(new ListMapRunsCommand({ executionArn }));
  const latest = mapRuns.reduce<(typeof mapRuns)[number] | undefined>(
    (newest, run) => (!newest || (run.startDate?.getTime() ?? 0) > (newest.startDate?.getTime() ?? 0) ? run : newest),
    undefined,
  );
  if (!latest?.mapRunArn) return undefined;
  const { itemCounts } = await target.sfn.send(new DescribeMapRunCommand({ mapRunArn: latest.mapRunArn }));
  if (!itemCounts) return undefined;
  return {
    total: itemCounts.total ?? 0,
    pending: itemCounts.pending ?? 0,
    running: itemCounts.running ?? 0,
    succeeded: itemCounts.succeeded ?? 0,
    failed: (itemCounts.failed ?? 0) + (itemCounts.timedOut ?? 0) + (itemCounts.aborted ?? 0),
  };
}

/** Events of one AwaitDelivery loop turn; the latest progress read is within the last few. */
const RECENT_EVENTS = 50;

/** The latest progress read: its state's output carries read-progress's result at READ_PROGRESS_RESULT_PATH ($.status), so at `status.progress`. */
async function readLatestProgress(target: Target, executionArn: string): Promise<BroadcastProgress | undefined> {
  const { events = [] } = await target.sfn.send(
    new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: RECENT_EVENTS }),
  );
  const exited = events.find(
    (event) => event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === READ_PROGRESS_STATE,
  );
  return parseJson<{ status?: { progress?: BroadcastProgress } }>(exited?.stateExitedEventDetails?.output)?.status
    ?.progress;
}

function countersOfProgress({ enqueued, accounted, summary }: BroadcastProgress): DeliveryCounters {
  return {
    enqueued,
    accounted,
    delivered: summary.delivered,
    gone: summary.gone,
    failed: summary.failed,
    failedBy: summary.failedBy,
    unanswered: summary.unanswered,
  };
}

function countersOfSummary(summary: BroadcastSummary): DeliveryCounters {
  return {
    enqueued: summary.connections,
    accounted: summary.delivered + summary.gone + summary.failed,
    delivered: summary.delivered,
    gone: summary.gone,
    failed: summary.failed,
    failedBy: summary.failedBy,
    unanswered: summary.unanswered,
  };
}

/**
 * Replays are named `<id>-replay-N` and start after their broadcast: listing newest first,
 * the search stops at the broadcast's own start instead of reading the whole history. The name
 * alone proves nothing (anyone can start `X-replay-1` by hand): a replay is an execution so named
 * whose input asks to replay this broadcast (`{"broadcastId": id, ...}`), as the CLI starts them.
 */
async function readReplays(
  target: Target,
  id: string,
  since: Date | undefined,
): Promise<{ replays: ReplayInfo[]; highestReplayName: number }> {
  const found: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await target.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: target.stateMachineArn, maxResults: 100, nextToken }),
    );
    const executions = page.executions ?? [];
    found.push(...executions.filter((execution) => execution.name && replayNumber(id, execution.name) !== undefined));
    const oldest = executions.at(-1)?.startDate;
    nextToken = since && oldest && oldest < since ? undefined : page.nextToken;
  } while (nextToken);
  found.sort((a, b) => replayNumber(id, a.name!)! - replayNumber(id, b.name!)!);
  const described = await Promise.all(
    found.map(async (execution) => ({
      execution,
      described: await target.sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn })),
    })),
  );
  const replays = described
    .filter(({ described }) => parseJson<Record<string, unknown>>(described.input)?.broadcastId === id)
    .map(({ execution, described }): ReplayInfo => {
      const info: ReplayInfo = {
        id: execution.name!,
        status: execution.status ?? 'UNKNOWN',
        startDate: execution.startDate?.toISOString(),
      };
      return execution.status === 'SUCCEEDED'
        ? { ...info, failedPartitions: parseJson<BroadcastSummary>(described.output)?.failedPartitions }
        : info;
    });
  // Names taken by executions that are not replays still cannot be used for the next replay.
  return { replays, highestReplayName: Math.max(0, ...found.map((execution) => replayNumber(id, execution.name!)!)) };
}

export interface ListedExecution {
  id: string;
  kind: ExecutionKind;
  channel?: string;
  status: string;
  startDate?: string;
  stopDate?: string;
  summary?: BroadcastSummary;
}

/** Recent executions, newest first; the summary counts of the finished ones come from their output. */
export async function listRecentExecutions(target: Target, limit: number): Promise<ListedExecution[]> {
  const listed: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await target.sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: target.stateMachineArn,
        maxResults: Math.min(limit - listed.length, 1000),
        nextToken,
      }),
    );
    listed.push(...(page.executions ?? []));
    nextToken = page.nextToken;
  } while (nextToken && listed.length < limit);
  // A few DescribeExecution calls at a time: well inside the API's request rate.
  const described: ListedExecution[] = [];
  for (let start = 0; start < listed.length; start += 5) {
    described.push(
      ...(await Promise.all(
        listed.slice(start, start + 5).map(async (item): Promise<ListedExecution> => {
          const execution = await target.sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn }));
          return {
            id: item.name ?? '',
            kind: kindOf(execution),
            ...channelOf(execution),
            status: execution.status ?? 'UNKNOWN',
            startDate: execution.startDate?.toISOString(),
            stopDate: execution.stopDate?.toISOString(),
            summary: execution.status === 'SUCCEEDED' ? parseJson<BroadcastSummary>(execution.output) : undefined,
          };
        }),
      )),
    );
  }
  return described;
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

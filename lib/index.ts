/**
 * swarmcast as a library — `import { broadcast, status, list, replay } from 'swarmcast'` — doing what
 * the CLI does with the same checks and words: start a broadcast, read its status, list the recent
 * ones, replay what failed, sweep. Every call takes a `target`: how to find the stack (TargetOptions,
 * resolved per call as the CLI resolves its flags) or a Target from connect(), reused until closed.
 * Errors a person can act on are SwarmcastError: one line saying what was wrong and what is allowed.
 */
import { checkBroadcastId, newBroadcastId } from './broadcast-ids';
import {
  type BroadcastStatus,
  type ListedExecution,
  listRecentExecutions,
  readBroadcastStatus,
} from './broadcast-status';
import { explainError, SwarmcastError } from './errors';
import { type ReplayOutcome, type StartedExecution, startBroadcast, startReplay, startSweep } from './executions';
import { checkMessage } from './payload';
import { onTarget, resolveTarget, type Target, type TargetOptions } from './target';

export type {
  BroadcastStatus,
  DeliveryCounters,
  ListedExecution,
  PartitionCounts,
  ReplayInfo,
} from './broadcast-status';
export { SwarmcastError } from './errors';
export type { ReplayOutcome, StartedExecution } from './executions';
export { type Outcome, outcomeOf } from './format';
export type { Target, TargetOptions } from './target';
/** Fleet broadcasts (docs/fleet.md): resolveFleet(file or "local"), then start, read, list and replay over every cell. */
export {
  type CellResult,
  type FleetReplayOutcome,
  type FleetStatus,
  type FleetSummary,
  type FleetTarget,
  fleetOutcome,
  listFleetBroadcasts,
  readFleetStatus,
  replayFleetBroadcast,
  resolveFleet,
  startFleetBroadcast,
  waitForFleetBroadcast,
} from './fleet';

/** Where a call works: how to find the stack (resolved for this call), or a Target from connect(). */
export interface OnTarget {
  /** Default: a running `swarmcast local`, else the AWS stack "Swarmcast" (the CLI's default). */
  target?: TargetOptions | Target;
}

export interface BroadcastOptions extends OnTarget {
  /** The broadcast id (its execution's name, 1–80 letters, digits, "-" or "_"); default b-<UTC time>-<random>. */
  id?: string;
  /** Only this channel's members get it (docs/channels.md); default every connected client. */
  channel?: string;
}

export interface ListOptions extends OnTarget {
  /** How many of the most recent executions (default 20, as `swarmcast list`). */
  limit?: number;
}

/** The most a list() returns, as `swarmcast list --limit`. */
const MAX_LIST_LIMIT = 1_000;

/**
 * Resolves a target once, for several calls: pass it as `target`, and close() it when done. Throws
 * SwarmcastError when the options name no reachable stack (none running locally, no such AWS stack).
 */
export async function connect(options: TargetOptions = {}): Promise<Target & { close(): void }> {
  const target = await explained(() => resolveTarget(options));
  return { ...target, close: () => target.sfn.destroy() };
}

/**
 * Starts a broadcast of `message` (text, or any JSON value) to every connected client, or to the
 * members of `options.channel`. The message, the channel and the id are checked first, by the
 * parser the state machine's Prepare runs: a rejected broadcast starts no execution. Resolves once the execution has started; follow it with status().
 */
export async function broadcast(message: unknown, options: BroadcastOptions = {}): Promise<StartedExecution> {
  const input = checkMessage(message, options.channel);
  const id = options.id === undefined ? newBroadcastId() : checkBroadcastId(options.id, 'the id');
  return run(options, (target) => startBroadcast(target, input, id));
}

/**
 * The state of one broadcast, replay or sweep: its execution, the partitions of its map run, its
 * delivery counts (`delivery.delivered`, `gone`, `failed`; `summary` once it succeeded) and its replays.
 * outcomeOf(status) says whether it is running, complete, incomplete or failed.
 */
export async function status(id: string, options: OnTarget = {}): Promise<BroadcastStatus> {
  checkBroadcastId(id);
  return run(options, (target) => readBroadcastStatus(target, id));
}

/** The most recent broadcasts, replays and sweeps, newest first, with the summary counts of finished ones. */
export async function list(options: ListOptions = {}): Promise<ListedExecution[]> {
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT)
    throw new SwarmcastError(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}, not ${limit}`);
  return run(options, (target) => listRecentExecutions(target, limit));
}

/**
 * Re-runs exactly what a broadcast (or sweep) did not reach, as `swarmcast replay` does: a redrive of
 * its failed partitions, a replay of the partitions not reached or of its failed sockets — or
 * `{action: 'nothing', reason}` when nothing failed. Throws SwarmcastError while it still runs.
 */
export async function replay(id: string, options: OnTarget = {}): Promise<ReplayOutcome> {
  checkBroadcastId(id);
  return run(options, (target) => startReplay(target, id));
}

/** Starts a sweep: every connection is checked and the gone ones removed; nothing is sent. */
export async function sweep(options: OnTarget = {}): Promise<StartedExecution> {
  return run(options, startSweep);
}

/** Runs `work` on the given Target, or on one resolved for this call and closed after it. */
function run<T>({ target = {} }: OnTarget, work: (target: Target) => Promise<T>): Promise<T> {
  return explained(() => ('sfn' in target ? work(target) : onTarget(target, work)));
}

/** AWS SDK and network errors come out as the SwarmcastError the CLI would print; others as they are. */
async function explained<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainError(error);
  }
}

/**
 * Fleet broadcasts for the library and the CLI (`--fleet FLEET`): start one broadcast over every
 * cell through the coordinator (statemachines/fleet.asl.json), read it per cell and in total, list
 * the recent ones, and replay the failed sockets of the cells that had any — each cell's own replay.
 * FLEET is a fleet file's path, or "local" for the fleet of a running `swarmcast local --cells K`.
 */
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type Fleet, FleetFileError, parseFleet } from '../client/fleet';
import {
  type CellResult,
  type CellTarget,
  cellExecutionName,
  MAX_FLEET_ID_LENGTH,
} from '../functions/commons/fleet/cells';
import type { FleetSummary } from '../functions/commons/fleet/summary';
import { FLEET_POLL_SECONDS } from '../statemachines/fleet-contract';
import { checkBroadcastId, newBroadcastId } from './broadcast-ids';
import { executionArnOf, isRunning } from './broadcast-status';
import { explainError, SwarmcastError } from './errors';
import { type ReplayOutcome, startReplay } from './executions';
import { LOCAL_CREDENTIALS } from './local-account';
import { findLocalFleets, readFleetFile } from './local-fleets';
import { checkMessage } from './payload';
import type { Target } from './target';

export type { FleetSummary } from '../functions/commons/fleet/summary';
export type { CellResult } from '../functions/commons/fleet/cells';

/** A fleet with its coordinator resolved: where fleet broadcasts start and are read. */
export interface FleetTarget {
  fleet: Fleet;
  /** Where the fleet came from, for messages. */
  source: string;
  coordinator: Target;
  close(): void;
}

/** Reads FLEET ("local" or a fleet file's path) and resolves its coordinator. */
export async function resolveFleet(fleetOption: string): Promise<FleetTarget> {
  let file = fleetOption;
  if (fleetOption === 'local') {
    const running = await findLocalFleets();
    if (running.length === 0)
      throw new SwarmcastError(
        '--fleet local: no local fleet is running; start one with `npx swarmcast local --cells 3`',
      );
    if (running.length > 1)
      throw new SwarmcastError(
        `--fleet local: ${running.length} local fleets are running (${running.map(({ file }) => file).join(', ')}); pass one fleet file's path`,
      );
    file = running[0].file;
  }
  let text: string;
  try {
    text = await readFleetFile(file);
  } catch (error) {
    throw new SwarmcastError(
      `--fleet ${fleetOption}: cannot read the fleet file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give a fleet file's path, or "local"`,
    );
  }
  let fleet: Fleet;
  try {
    fleet = parseFleet(text, file);
  } catch (error) {
    if (error instanceof FleetFileError) throw new SwarmcastError(error.message);
    throw error;
  }
  const { coordinator } = fleet;
  if (!coordinator)
    throw new SwarmcastError(
      `${file}: has no "coordinator" ({ "stateMachineArn": the coordinator stack's FleetStateMachineArn output }); a fleet broadcast starts there`,
    );
  const region = coordinator.stateMachineArn.split(':')[3];
  const local = coordinator.stepFunctionsEndpoint !== undefined;
  const sfn = new SFNClient({
    region,
    ...(local ? { endpoint: coordinator.stepFunctionsEndpoint, credentials: LOCAL_CREDENTIALS } : { maxAttempts: 6 }),
  });
  return {
    fleet,
    source: file,
    coordinator: {
      where: local ? 'local' : 'aws',
      sfn,
      stateMachineArn: coordinator.stateMachineArn,
      description: `fleet ${file} (${fleet.cells.length} cells), coordinator ${coordinator.stateMachineArn}${local ? ` at ${coordinator.stepFunctionsEndpoint}` : ''}`,
      pollIntervalMs: local ? 250 : 2_000,
    },
    close: () => sfn.destroy(),
  };
}

/** The cells as the fleet execution's input lists them; a cell without its state machine cannot be started. */
function cellTargets(fleet: Fleet, source: string): CellTarget[] {
  return fleet.cells.map((cell) => {
    if (!cell.stateMachineArn)
      throw new SwarmcastError(
        `${source}: cell ${cell.name} has no "stateMachineArn" (its stack's StateMachineArn output): the coordinator cannot start it`,
      );
    const { name, region, stateMachineArn, roleArn, stepFunctionsEndpoint } = cell;
    return {
      name,
      region,
      stateMachineArn,
      ...(roleArn && { roleArn }),
      ...(stepFunctionsEndpoint && { stepFunctionsEndpoint }),
    };
  });
}

export interface StartedFleetBroadcast {
  id: string;
  executionArn: string;
  headline: string;
}

/** Starts one fleet broadcast of `message` (to one channel's members in every cell, if given): every cell's broadcast, named `<id>-<cell>`. */
export async function startFleetBroadcast(
  target: FleetTarget,
  message: unknown,
  { id = newBroadcastId(), channel }: { id?: string; channel?: string } = {},
): Promise<StartedFleetBroadcast> {
  const input = checkMessage(message, channel);
  checkBroadcastId(id, 'the fleet broadcast id');
  if (id.length > MAX_FLEET_ID_LENGTH)
    throw new SwarmcastError(
      `the fleet broadcast id must be at most ${MAX_FLEET_ID_LENGTH} characters (each cell's execution is named <id>-<cell>, at most 80), not ${id.length}`,
    );
  const cells = cellTargets(target.fleet, target.source);
  const { coordinator } = target;
  const { executionArn } = await explained(() =>
    coordinator.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: coordinator.stateMachineArn,
        name: id,
        input: JSON.stringify({ input, cells, pollSeconds: FLEET_POLL_SECONDS[coordinator.where] }),
      }),
    ),
  );
  return {
    id,
    executionArn: executionArn!,
    headline: `started fleet broadcast ${id} over ${cells.length} cell(s): ${cells.map(({ name }) => name).join(', ')}`,
  };
}

export interface FleetStatus {
  id: string;
  status: string;
  executionArn: string;
  startDate?: Date;
  stopDate?: Date;
  /** Once the coordinator has summed up. */
  summary?: FleetSummary;
  /** While it runs: each cell's execution as the cell reports it (RUNNING, or how it ended). */
  cells: (CellResult | { cell: string; status: 'RUNNING' | 'NOT_STARTED' })[];
  error?: string;
  cause?: string;
}

/** The fleet broadcast's state: the coordinator's execution, and per cell its summary or live status. */
export async function readFleetStatus(target: FleetTarget, id: string): Promise<FleetStatus> {
  checkBroadcastId(id);
  const { coordinator } = target;
  const executionArn = executionArnOf(coordinator.stateMachineArn, id);
  const described = await explained(() => coordinator.sfn.send(new DescribeExecutionCommand({ executionArn })));
  const status = described.status ?? 'RUNNING';
  const base = {
    id,
    status,
    executionArn,
    startDate: described.startDate,
    stopDate: described.stopDate,
    ...(described.error !== undefined && { error: described.error }),
    ...(described.cause !== undefined && { cause: described.cause }),
  };
  if (status === 'SUCCEEDED' && described.output) {
    const summary = JSON.parse(described.output) as FleetSummary;
    return { ...base, summary, cells: summary.cells };
  }
  // Before the summary, each cell is asked directly (the operator's own access to the cells).
  const cells = await Promise.all(
    cellTargets(target.fleet, target.source).map((cell) => readCell(cell, cellExecutionName(id, cell.name))),
  );
  return { ...base, cells };
}

async function readCell(cell: CellTarget, name: string): Promise<FleetStatus['cells'][number]> {
  const sfn = cellClient(cell);
  try {
    const described = await sfn.send(
      new DescribeExecutionCommand({ executionArn: executionArnOf(cell.stateMachineArn, name) }),
    );
    const status = described.status ?? 'RUNNING';
    return isRunning(status)
      ? { cell: cell.name, status: 'RUNNING' }
      : { cell: cell.name, status: status as CellResult['status'], ...(described.error && { error: described.error }) };
  } catch (error) {
    const { name: errorName, message } = error as Error;
    if (errorName === 'ExecutionDoesNotExist') return { cell: cell.name, status: 'NOT_STARTED' };
    return { cell: cell.name, status: 'UNREACHABLE', error: errorName, cause: message };
  } finally {
    sfn.destroy();
  }
}

/** The operator's client for one cell: the cell's Region with the operator's credentials, or the local cell's endpoint. */
function cellClient(cell: CellTarget): SFNClient {
  return new SFNClient({
    region: cell.region,
    ...(cell.stepFunctionsEndpoint
      ? { endpoint: cell.stepFunctionsEndpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 }
      : {}),
  });
}

/** Whether a fleet broadcast reached every socket of every cell: what exit code 0 means. */
export function fleetOutcome(status: FleetStatus): 'running' | 'complete' | 'incomplete' {
  if (isRunning(status.status)) return 'running';
  const summary = status.summary;
  return summary && summary.cellsNotFinished.length === 0 && summary.total.failed === 0 ? 'complete' : 'incomplete';
}

/** Reads the fleet broadcast until the coordinator has ended; `onProgress` sees each read. */
export async function waitForFleetBroadcast(
  target: FleetTarget,
  id: string,
  onProgress?: (status: FleetStatus) => void,
): Promise<FleetStatus> {
  for (;;) {
    const status = await readFleetStatus(target, id);
    onProgress?.(status);
    if (!isRunning(status.status)) return status;
    await new Promise((resolve) => setTimeout(resolve, target.coordinator.pollIntervalMs));
  }
}

export interface ListedFleetBroadcast {
  id: string;
  status: string;
  startDate?: Date;
  total?: FleetSummary['total'];
  cellsNotFinished?: string[];
}

/** The most recent fleet broadcasts, newest first, with the totals of finished ones. */
export async function listFleetBroadcasts(target: FleetTarget, limit: number): Promise<ListedFleetBroadcast[]> {
  const { coordinator } = target;
  const { executions = [] } = await explained(() =>
    coordinator.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: coordinator.stateMachineArn, maxResults: limit }),
    ),
  );
  return Promise.all(
    executions.map(async ({ name, status, startDate, executionArn }) => {
      const listed: ListedFleetBroadcast = { id: name!, status: status!, startDate };
      if (status !== 'SUCCEEDED') return listed;
      const { output } = await coordinator.sfn.send(new DescribeExecutionCommand({ executionArn }));
      const summary = output ? (JSON.parse(output) as FleetSummary) : undefined;
      return { ...listed, total: summary?.total, cellsNotFinished: summary?.cellsNotFinished };
    }),
  );
}

export interface FleetReplayOutcome {
  id: string;
  /** Per cell that had failed sockets (or did not finish after it started): its own replay's outcome. */
  cells: { cell: string; outcome: ReplayOutcome | { action: 'failed'; reason: string } }[];
  /** Cells never started or unreachable: a replay cannot help them; send again to reach their clients. */
  notReplayable: string[];
}

/**
 * Re-runs, in each cell that had failed sockets (or whose broadcast ended without succeeding), that
 * cell's own replay of `<id>-<cell>` (lib/replay-plan.ts decides what). Cells that delivered
 * everything are not touched. Throws while the fleet broadcast still runs.
 */
export async function replayFleetBroadcast(target: FleetTarget, id: string): Promise<FleetReplayOutcome> {
  const status = await readFleetStatus(target, id);
  if (!status.summary) {
    throw new SwarmcastError(
      isRunning(status.status)
        ? `fleet broadcast ${id} is still running: replay it once it has ended (swarmcast status ${id} --fleet ...)`
        : `fleet broadcast ${id} ended ${status.status} without a summary (${status.error ?? 'no error'}): send again`,
    );
  }
  const byName = new Map(cellTargets(target.fleet, target.source).map((cell) => [cell.name, cell]));
  const outcome: FleetReplayOutcome = { id, cells: [], notReplayable: [] };
  for (const result of status.summary.cells) {
    const failedSockets = (result.counts?.failed ?? 0) > 0;
    if (result.status === 'SUCCEEDED' && !failedSockets) continue;
    const cell = byName.get(result.cell);
    if (!cell || !result.executionArn) {
      outcome.notReplayable.push(result.cell);
      continue;
    }
    const sfn = cellClient(cell);
    const cellTarget: Target = {
      where: cell.stepFunctionsEndpoint ? 'local' : 'aws',
      sfn,
      stateMachineArn: cell.stateMachineArn,
      description: `cell ${cell.name}`,
      pollIntervalMs: cell.stepFunctionsEndpoint ? 250 : 2_000,
    };
    try {
      outcome.cells.push({ cell: cell.name, outcome: await startReplay(cellTarget, cellExecutionName(id, cell.name)) });
    } catch (error) {
      const explained = explainError(error);
      outcome.cells.push({
        cell: cell.name,
        outcome: { action: 'failed', reason: explained instanceof Error ? explained.message : String(explained) },
      });
    } finally {
      sfn.destroy();
    }
  }
  return outcome;
}

/** One block for people: the fleet broadcast, then a line per cell, then the totals. */
export function renderFleetStatus(status: FleetStatus): string {
  const lines = [`fleet broadcast ${status.id}: ${status.status}${status.error ? ` (${status.error})` : ''}`];
  for (const cell of status.cells) {
    const counts = 'counts' in cell && cell.counts;
    const why =
      'error' in cell && cell.error ? ` — ${cell.error}${'cause' in cell && cell.cause ? `: ${cell.cause}` : ''}` : '';
    lines.push(
      `  ${cell.cell.padEnd(14)} ${cell.status.padEnd(11)}${counts ? ` ${counts.delivered} delivered, ${counts.gone} gone, ${counts.failed} failed, ${counts.durationMs} ms` : ''}${why}`,
    );
  }
  const summary = status.summary;
  if (summary) {
    const { total } = summary;
    lines.push(
      `  ${'total'.padEnd(14)} ${''.padEnd(11)} ${total.delivered} delivered, ${total.gone} gone, ${total.failed} failed of ${total.connections}, ${summary.durationMs} ms`,
    );
    if (summary.cellsNotFinished.length > 0)
      lines.push(`  cells that did not finish: ${summary.cellsNotFinished.join(', ')}`);
    if (summary.cellsWithFailedSockets.length > 0)
      lines.push(
        `  swarmcast replay ${status.id} --fleet ... re-runs the failed sockets of ${summary.cellsWithFailedSockets.join(', ')}`,
      );
  }
  return lines.join('\n');
}

async function explained<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainError(error);
  }
}

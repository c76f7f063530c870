/**
 * `--fleet FLEET` of send, status, list and replay: the same commands over a fleet broadcast
 * (lib/fleet.ts), printing per cell and in total. Exit 2 when a cell did not finish or any socket failed.
 */
import { Option } from 'commander';
import {
  type FleetStatus,
  fleetOutcome,
  listFleetBroadcasts,
  readFleetStatus,
  renderFleetStatus,
  replayFleetBroadcast,
  resolveFleet,
  startFleetBroadcast,
  waitForFleetBroadcast,
  type FleetTarget,
} from '../lib/fleet';
import { EXIT } from './errors';

export const fleetOption = (): Option =>
  new Option(
    '--fleet <fleet>',
    'a fleet broadcast: FLEET is a fleet file (docs/fleet.md), or "local" for the running `swarmcast local --cells K`',
  ).conflicts(['stack', 'stateMachineArn', 'endpoint', 'local']);

async function onFleet<T>(fleet: string, work: (target: FleetTarget) => Promise<T>): Promise<T> {
  const target = await resolveFleet(fleet);
  process.stderr.write(`swarmcast: using ${target.coordinator.description}\n`);
  try {
    return await work(target);
  } finally {
    target.close();
  }
}

function report(status: FleetStatus, json?: boolean): void {
  console.log(json ? JSON.stringify(status) : renderFleetStatus(status));
  if (fleetOutcome(status) !== 'complete') process.exitCode = EXIT.broadcastIncomplete;
}

export function sendToFleet(
  fleet: string,
  input: { message: unknown; channel?: string },
  options: { id?: string; wait?: boolean; json?: boolean },
): Promise<void> {
  return onFleet(fleet, async (target) => {
    const started = await startFleetBroadcast(target, input.message, { id: options.id, channel: input.channel });
    if (!options.wait) {
      console.log(
        options.json
          ? JSON.stringify(started)
          : `${started.headline}\n  execution  ${started.executionArn}\n  follow it  swarmcast status ${started.id} --fleet ${fleet} --watch`,
      );
      return;
    }
    if (!options.json) console.log(started.headline);
    report(await waitForFleetBroadcast(target, started.id), options.json);
  });
}

export function fleetStatus(fleet: string, id: string, options: { watch?: boolean; json?: boolean }): Promise<void> {
  return onFleet(fleet, async (target) => {
    if (options.watch) return report(await waitForFleetBroadcast(target, id), options.json);
    const status = await readFleetStatus(target, id);
    console.log(options.json ? JSON.stringify(status) : renderFleetStatus(status));
  });
}

export function listFleet(fleet: string, options: { limit: number; json?: boolean }): Promise<void> {
  return onFleet(fleet, async (target) => {
    const broadcasts = await listFleetBroadcasts(target, options.limit);
    if (options.json) return console.log(JSON.stringify({ broadcasts }));
    if (broadcasts.length === 0) return console.log('no fleet broadcasts yet');
    for (const { id, status, startDate, total, cellsNotFinished } of broadcasts)
      console.log(
        `${id}  ${status.padEnd(9)} ${startDate?.toISOString() ?? ''}${total ? `  ${total.delivered} delivered, ${total.gone} gone, ${total.failed} failed of ${total.connections}` : ''}${cellsNotFinished?.length ? `  not finished: ${cellsNotFinished.join(', ')}` : ''}`,
      );
  });
}

/** Starts each cell's own replay; follow them with `swarmcast status <id>-<cell>` against the cell (--wait is refused with --fleet). */
export function replayFleet(fleet: string, id: string, options: { json?: boolean }): Promise<void> {
  return onFleet(fleet, async (target) => {
    const outcome = await replayFleetBroadcast(target, id);
    if (options.json) console.log(JSON.stringify(outcome));
    else {
      if (outcome.cells.length === 0 && outcome.notReplayable.length === 0)
        console.log(`fleet broadcast ${id}: nothing to replay, every cell delivered every socket`);
      for (const { cell, outcome: cellOutcome } of outcome.cells)
        console.log(`  ${cell.padEnd(14)} ${'headline' in cellOutcome ? cellOutcome.headline : cellOutcome.reason}`);
      if (outcome.notReplayable.length > 0)
        console.log(
          `  not replayable (never started or unreachable): ${outcome.notReplayable.join(', ')}; send again to reach their clients`,
        );
    }
    if (outcome.notReplayable.length > 0 || outcome.cells.some(({ outcome }) => outcome.action === 'failed'))
      process.exitCode = EXIT.broadcastIncomplete;
  });
}

/** `swarmcast status`: the state of one broadcast, replay or sweep, once or followed to its end (--watch). */
import type { Command } from 'commander';
import { checkBroadcastId } from '../../lib/broadcast-ids';
import { status as readStatus } from '../../lib';
import { renderStatus } from '../../lib/format';
import { waitAndReport } from '../report';
import type { TargetOptions } from '../../lib/target';
import { addTargetOptions, withTarget } from '../target';
import { fleetOption, fleetStatus } from '../fleet';

interface StatusOptions extends TargetOptions {
  watch?: boolean;
  json?: boolean;
  fleet?: string;
}

export function registerStatusCommand(program: Command): void {
  const command = program
    .command('status')
    .description("a broadcast's (or sweep's) state: execution, partitions of its map run, delivery counters, replays")
    .argument('<id>', 'the broadcast or sweep id (its execution name)')
    .option(
      '--watch',
      'follow it until it ends (a live bar on a terminal, plain lines otherwise); exit 2 if it did not reach every partition or any socket failed',
    )
    .option('--json', 'print one JSON object');
  command.addOption(fleetOption());
  addTargetOptions(command).action(async (id: string, options: StatusOptions) => {
    checkBroadcastId(id);
    if (options.fleet !== undefined) return fleetStatus(options.fleet, id, options);
    await withTarget(options, async (target) => {
      if (options.watch) return waitAndReport(target, id, { json: options.json });
      const status = await readStatus(id, { target });
      console.log(options.json ? JSON.stringify(status) : renderStatus(status));
    });
  });
}

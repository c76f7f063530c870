/** `swarmcast replay`: re-runs what a broadcast or sweep did not reach; lib/replay-plan.ts decides how. */
import type { Command } from 'commander';
import { checkBroadcastId } from '../../lib/broadcast-ids';
import { replay } from '../../lib';
import { reportAndWait, type OutputOptions } from '../report';
import type { TargetOptions } from '../../lib/target';
import { addTargetOptions, withTarget } from '../target';
import { fleetOption, replayFleet } from '../fleet';

export function registerReplayCommand(program: Command): void {
  const command = program
    .command('replay')
    .description(
      're-run exactly the failed partitions of a broadcast or sweep; partitions already reached are not sent again',
    )
    .argument('<id>', 'the broadcast or sweep id (a replay id stands for its broadcast)')
    .option(
      '--wait',
      'show progress until the replay ends, then the summary; exit 2 if it did not reach every partition or any socket failed',
    )
    .option('--json', 'print one JSON object: what was started (or why nothing), or with --wait the final status');
  command.addOption(fleetOption().conflicts('wait'));
  addTargetOptions(command).action(async (id: string, options: TargetOptions & OutputOptions & { fleet?: string }) => {
    checkBroadcastId(id);
    if (options.fleet !== undefined) return replayFleet(options.fleet, id, options);
    await withTarget(options, async (target) => {
      const outcome = await replay(id, { target });
      if (outcome.action === 'nothing') {
        console.log(options.json ? JSON.stringify(outcome) : outcome.reason);
        return;
      }
      await reportAndWait(target, outcome, options);
    });
  });
}

/**
 * `swarmcast sweep`: starts a sweep now, the same execution the stack runs on a schedule: gone
 * connections removed.
 */
import type { Command } from 'commander';
import { sweep } from '../../lib';
import { reportAndWait, type OutputOptions } from '../report';
import type { TargetOptions } from '../../lib/target';
import { addTargetOptions, withTarget } from '../target';

export function registerSweepCommand(program: Command): void {
  const command = program
    .command('sweep')
    .description('remove the connections past their TTL (no @connections call); the stack also runs this on a schedule')
    .option('--wait', 'show progress until the sweep ends, then how many connections it removed')
    .option('--json', 'print one JSON object: the sweep id and execution, or with --wait its final status');
  addTargetOptions(command).action(async (options: TargetOptions & OutputOptions) => {
    await withTarget(options, async (target) => reportAndWait(target, await sweep({ target }), options));
  });
}

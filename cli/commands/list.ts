/** `swarmcast list`: recent broadcasts, replays and sweeps, newest first, with the counts of finished ones. */
import { Command, Option } from 'commander';
import { listRecentExecutions } from '../broadcast-status';
import { renderList } from '../format';
import { addTargetOptions, withTarget, type TargetOptions } from '../target';
import { parsePositiveInteger } from '../options';

interface ListOptions extends TargetOptions {
  limit: number;
  json?: boolean;
}

export function registerListCommand(program: Command): void {
  const command = program
    .command('list')
    .description('recent broadcasts, replays and sweeps, newest first, with the summary counts of finished ones')
    .addOption(new Option('--limit <n>', 'how many').default(20).argParser(parsePositiveInteger('--limit', 1_000)))
    .option('--json', 'print one JSON object');
  addTargetOptions(command).action(async (options: ListOptions) => {
    await withTarget(options, async (target) => {
      const executions = await listRecentExecutions(target, options.limit);
      console.log(options.json ? JSON.stringify({ broadcasts: executions }) : renderList(executions));
    });
  });
}

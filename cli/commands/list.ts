/**
 * `swarmcast list`: recent broadcasts, replays and sweeps, newest first, with the counts of finished
 * ones; with several local stacks running and no target flag, each stack's, under its name.
 */
import { type Command, Option } from 'commander';
import { findLocalStacks } from '../../lib/local-stacks';
import { list } from '../../lib';
import { renderList } from '../../lib/format';
import { describeLocalStack, type TargetOptions } from '../../lib/target';
import { addTargetOptions, withTarget } from '../target';
import { parsePositiveInteger } from '../options';
import { fleetOption, listFleet } from '../fleet';

interface ListOptions extends TargetOptions {
  limit: number;
  json?: boolean;
  fleet?: string;
}

export function registerListCommand(program: Command): void {
  const command = program
    .command('list')
    .description(
      'recent broadcasts, replays and sweeps, newest first, with the summary counts of finished ones (of each local stack when several run)',
    )
    .addOption(new Option('--limit <n>', 'how many').default(20).argParser(parsePositiveInteger('--limit', 1_000)))
    .option('--json', 'print one JSON object');
  command.addOption(fleetOption());
  addTargetOptions(command).action(async (options: ListOptions) => {
    if (options.fleet !== undefined) return listFleet(options.fleet, options);
    const { running } =
      options.endpoint || options.stateMachineArn || options.stack ? { running: [] } : await findLocalStacks();
    if (running.length > 1) {
      // Listing reads only: showing every stack is safe, where starting anything must name one.
      const stacks = [];
      for (const stack of running) {
        const broadcasts = await withTarget(
          { endpoint: stack.stepFunctionsEndpoint, stateMachineArn: stack.stateMachineArn },
          (target) => list({ target, limit: options.limit }),
        );
        stacks.push({ pid: stack.pid, stepFunctionsEndpoint: stack.stepFunctionsEndpoint, broadcasts });
        if (!options.json) console.log(`local stack ${describeLocalStack(stack)}:\n${renderList(broadcasts)}\n`);
      }
      if (options.json) console.log(JSON.stringify({ stacks }));
      return;
    }
    await withTarget(options, async (target) => {
      const executions = await list({ target, limit: options.limit });
      console.log(options.json ? JSON.stringify({ broadcasts: executions }) : renderList(executions));
    });
  });
}

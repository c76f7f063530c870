import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import { newSweepId } from '../broadcast-ids';
import { reportStarted, waitAndReport } from '../report';
import { addTargetOptions, withTarget, type TargetOptions } from '../target';

interface SweepOptions extends TargetOptions {
  wait?: boolean;
}

export function registerSweepCommand(program: Command): void {
  const command = program
    .command('sweep')
    .description('check every connection (GetConnection), remove the gone ones and repair the partition counters; the stack also runs this on a schedule')
    .option('--wait', 'show progress until the sweep ends, then how many connections it removed');
  addTargetOptions(command).action(async (options: SweepOptions) => {
    await withTarget(options, async (target) => {
      const id = newSweepId();
      const { executionArn } = await target.sfn.send(new StartExecutionCommand({ stateMachineArn: target.stateMachineArn, name: id, input: JSON.stringify({ kind: 'sweep' }) }));
      reportStarted(`started sweep ${id}`, id, executionArn!, Boolean(options.wait));
      if (options.wait) await waitAndReport(target, id);
    });
  });
}

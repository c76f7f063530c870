import { RedriveExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import { checkBroadcastId } from '../broadcast-ids';
import { executionArnOf, readBroadcastStatus } from '../broadcast-status';
import { formatCount } from '../format';
import { planReplay } from '../replay-plan';
import { reportStarted, waitAndReport } from '../report';
import { addTargetOptions, withTarget, type TargetOptions } from '../target';

interface ReplayOptions extends TargetOptions {
  wait?: boolean;
}

export function registerReplayCommand(program: Command): void {
  const command = program
    .command('replay')
    .description('re-run exactly the failed partitions of a broadcast or sweep; partitions already reached are not sent again')
    .argument('<id>', 'the broadcast or sweep id (a replay id stands for its broadcast)')
    .option('--wait', 'show progress until the replay ends, then the summary; exit 2 if it did not reach every partition');
  addTargetOptions(command).action(async (id: string, options: ReplayOptions) => {
    checkBroadcastId(id);
    await withTarget(options, async (target) => {
      const given = await readBroadcastStatus(target, id);
      const broadcast = given.kind === 'replay' ? await readBroadcastStatus(target, given.broadcastId) : given;
      const latestReplay = broadcast.replays.at(-1);
      const latest = latestReplay ? await readBroadcastStatus(target, latestReplay.id, { withReplays: false }) : broadcast;
      const plan = planReplay(broadcast, latest);

      if (plan.action === 'nothing') {
        console.log(plan.reason);
        return;
      }
      if (plan.action === 'redrive') {
        const executionArn = executionArnOf(target.stateMachineArn, plan.id);
        await target.sfn.send(new RedriveExecutionCommand({ executionArn }));
        reportStarted(
          `redriving ${plan.id}: its ${formatCount(plan.failedPartitions)} failed or unfinished partition(s) run again; partitions already enqueued are skipped`,
          plan.id,
          executionArn,
          Boolean(options.wait),
        );
        if (options.wait) await waitAndReport(target, plan.id, { minRedriveCount: latest.redriveCount + 1 });
        return;
      }
      const { executionArn } = await target.sfn.send(new StartExecutionCommand({ stateMachineArn: target.stateMachineArn, name: plan.id, input: JSON.stringify(plan.input) }));
      reportStarted(`replaying partition(s) ${plan.input.partitions.join(', ')} of ${broadcast.id} as ${plan.id}`, plan.id, executionArn!, Boolean(options.wait));
      if (options.wait) await waitAndReport(target, plan.id);
    });
  });
}

/**
 * Starting executions: the one place `send`, `replay` and `sweep` — and the local console —
 * start or redrive what they start, so both say and do the same thing.
 */
import { RedriveExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { newBroadcastId, newSweepId } from './broadcast-ids';
import { executionArnOf, readBroadcastStatus } from './broadcast-status';
import { formatCount } from './format';
import { planReplay } from './replay-plan';
import type { Target } from './target';

export interface StartedExecution {
  /** `start`: a new execution; `redrive`: RedriveExecution on an existing one. */
  action: 'start' | 'redrive';
  /** The execution's name: the broadcast, replay or sweep id. */
  id: string;
  executionArn: string;
  /** One line for people saying what was started. */
  headline: string;
  /** A replay's partitions. */
  partitions?: number[];
  /** After a redrive: the redrive count that tells the new run's end from the old one's. */
  minRedriveCount?: number;
}

export type ReplayOutcome = StartedExecution | { action: 'nothing'; reason: string };

/** `input` as readBroadcastInput checked it; `id` already checked, or a new one. */
export async function startBroadcast(
  target: Target,
  input: { message: unknown; channel?: string },
  id = newBroadcastId(),
): Promise<StartedExecution> {
  const { executionArn } = await target.sfn.send(
    new StartExecutionCommand({ stateMachineArn: target.stateMachineArn, name: id, input: JSON.stringify(input) }),
  );
  return { action: 'start', id, executionArn: executionArn!, headline: `started broadcast ${id}` };
}

export async function startSweep(target: Target): Promise<StartedExecution> {
  const id = newSweepId();
  const { executionArn } = await target.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: target.stateMachineArn,
      name: id,
      input: JSON.stringify({ kind: 'sweep' }),
    }),
  );
  return { action: 'start', id, executionArn: executionArn!, headline: `started sweep ${id}` };
}

/** Re-runs what the broadcast's latest execution (its own or its latest replay) did not reach; see replay-plan.ts. */
export async function startReplay(target: Target, id: string): Promise<ReplayOutcome> {
  const given = await readBroadcastStatus(target, id);
  const broadcast = given.kind === 'replay' ? await readBroadcastStatus(target, given.broadcastId) : given;
  const latestReplay = broadcast.replays.at(-1);
  const latest = latestReplay ? await readBroadcastStatus(target, latestReplay.id, { withReplays: false }) : broadcast;
  const plan = planReplay(broadcast, latest);

  if (plan.action === 'nothing') return plan;
  if (plan.action === 'redrive') {
    const executionArn = executionArnOf(target.stateMachineArn, plan.id);
    await target.sfn.send(new RedriveExecutionCommand({ executionArn }));
    return {
      action: 'redrive',
      id: plan.id,
      executionArn,
      headline: `redriving ${plan.id}: its ${formatCount(plan.failedPartitions)} failed or unfinished partition(s) run again; partitions already enqueued are skipped`,
      minRedriveCount: latest.redriveCount + 1,
    };
  }
  const { executionArn } = await target.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: target.stateMachineArn,
      name: plan.id,
      input: JSON.stringify(plan.input),
    }),
  );
  return {
    action: 'start',
    id: plan.id,
    executionArn: executionArn!,
    headline:
      'failedSockets' in plan.input
        ? `replaying ${broadcast.id} to its ${formatCount(plan.failedSockets ?? 0)} failed socket(s) and any partition not reached, as ${plan.id}`
        : `replaying partition(s) ${plan.input.partitions.join(', ')} of ${broadcast.id} as ${plan.id}`,
    ...('partitions' in plan.input && { partitions: plan.input.partitions }),
  };
}

/**
 * What `send`, `replay` and `sweep` print once they start an execution and, when they (or
 * `status --watch`) follow it to its end, its final status and the exit code.
 */
import { EXIT } from './errors';
import type { StartedExecution } from '../lib/executions';
import { outcomeOf, renderStatus } from '../lib/format';
import type { Target } from '../lib/target';
import { watchUntilDone, type WatchOptions } from './watch';

/** How send, replay and sweep print: `json` is one JSON object on stdout, whatever the command. */
export interface OutputOptions {
  wait?: boolean;
  json?: boolean;
}

/**
 * What send, replay and sweep print once an execution is started. With --wait nothing yet
 * when --json is given: the final status is then the one object printed.
 */
export function reportStarted(started: StartedExecution, { wait, json }: OutputOptions): void {
  if (json) {
    if (!wait)
      console.log(
        JSON.stringify({
          action: started.action,
          id: started.id,
          executionArn: started.executionArn,
          ...(started.partitions && { partitions: started.partitions }),
        }),
      );
    return;
  }
  console.log(started.headline);
  console.log(`  execution  ${started.executionArn}`);
  if (!wait) console.log(`  follow it  swarmcast status ${started.id} --watch`);
}

/** Starts, then with --wait follows to the end: the whole output of send, replay and sweep. */
export async function reportAndWait(target: Target, started: StartedExecution, options: OutputOptions): Promise<void> {
  reportStarted(started, options);
  if (options.wait)
    await waitAndReport(target, started.id, { json: options.json, minRedriveCount: started.minRedriveCount });
}

/**
 * Follows the execution to its end and prints its status. Exit code 2 when it did not reach
 * every planned partition or any socket failed (the execution failed, or succeeded within its
 * tolerances), so scripts know a replay is due.
 */
export async function waitAndReport(
  target: Target,
  id: string,
  options: WatchOptions & { json?: boolean } = {},
): Promise<void> {
  const status = await watchUntilDone(target, id, { ...options, quiet: options.quiet ?? options.json });
  console.log(options.json ? JSON.stringify(status) : renderStatus(status));
  if (outcomeOf(status) !== 'complete') process.exitCode = EXIT.broadcastIncomplete;
}

import { EXIT } from './errors';
import { outcomeOf, renderStatus } from './format';
import type { Target } from './target';
import { watchUntilDone, type WatchOptions } from './watch';

/** What send, replay and sweep print once an execution is started. */
export function reportStarted(headline: string, id: string, executionArn: string, wait: boolean): void {
  console.log(headline);
  console.log(`  execution  ${executionArn}`);
  if (!wait) console.log(`  follow it  swarmcast status ${id} --watch`);
}

/**
 * Follows the execution to its end and prints its status. Exit code 2 when it did not reach
 * every planned partition (failed, or succeeded within its tolerated failures), so scripts
 * know a replay is due.
 */
export async function waitAndReport(target: Target, id: string, options: WatchOptions & { json?: boolean } = {}): Promise<void> {
  const status = await watchUntilDone(target, id, { ...options, quiet: options.quiet ?? options.json });
  console.log(options.json ? JSON.stringify(status) : renderStatus(status));
  if (outcomeOf(status) !== 'complete') process.exitCode = EXIT.broadcastIncomplete;
}

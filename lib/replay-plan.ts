/**
 * The plan of `swarmcast replay`: how to re-run exactly what a broadcast (or sweep) did not reach,
 * decided from its latest execution — the broadcast's own, or its latest `<id>-replay-N`:
 * - failed (past the tolerated failures, or stopped): RedriveExecution re-runs only its failed map
 *   children, and children skip the partitions they already enqueued;
 * - succeeded within the tolerated failures: a new execution over its `failedPartitions` only;
 * - some sockets failed (DeliveryIncomplete, or succeeded within the tolerance): a new
 *   execution `{"broadcastId", "failedSockets": true}` sends to exactly the failed sockets kept
 *   by the consumers, and to the partitions not reached;
 * - succeeded with every partition reached and no socket failed: nothing to do;
 * - failed with DeliveryTimeout: its outcome is final too (no consumer posts after the deadline, and
 *   the execution ended a grace past it), so the failed sockets are replayed as above; the sockets
 *   whose counts never came may have the message and are never sent to. With none failed, nothing is.
 */
import type { BroadcastStatus } from './broadcast-status';
import { isRunning } from './broadcast-status';
import { replayId, replayNumber } from './broadcast-ids';
import { SwarmcastError } from './errors';

export type ReplayInput = { broadcastId: string; partitions: number[] } | { broadcastId: string; failedSockets: true };

export type ReplayPlan =
  | { action: 'nothing'; reason: string }
  | { action: 'redrive'; id: string; failedPartitions: number }
  | { action: 'start'; id: string; input: ReplayInput; failedSockets?: number };

export function planReplay(broadcast: BroadcastStatus, latest: BroadcastStatus): ReplayPlan {
  if (isRunning(latest.status)) {
    throw new SwarmcastError(
      `${latest.id} is still running: wait for it to end (swarmcast status ${latest.id} --watch), then replay what it did not reach`,
    );
  }
  const timedOut = latest.error === 'DeliveryTimeout';
  const failedSockets =
    timedOut || latest.error === 'DeliveryIncomplete' || latest.status === 'SUCCEEDED'
      ? (latest.delivery?.failed ?? 0)
      : 0;
  if (timedOut && failedSockets === 0) {
    // Redriving or replaying partitions would send the message again to clients that have it.
    throw new SwarmcastError(
      `${latest.id} ended with no failed socket to replay (${latest.delivery ? `${latest.delivery.accounted} of ${latest.delivery.enqueued} connections accounted for` : 'no counts'}); the counts that never came are not replayed, since those clients may have the message: look for delivery tasks on the shard queues' dead-letter queues`,
    );
  }
  if (failedSockets > 0)
    return { ...startReplay(broadcast, { broadcastId: broadcast.id, failedSockets: true }), failedSockets };
  if (latest.status !== 'SUCCEEDED') {
    if (latest.partitions)
      return {
        action: 'redrive',
        id: latest.id,
        failedPartitions: latest.partitions.total - latest.partitions.succeeded,
      };
    // Failed in Prepare, before its Map Run: a replay is asked again, anything else was never sent.
    if (latest.replayPartitions)
      return startReplay(broadcast, { broadcastId: broadcast.id, partitions: latest.replayPartitions });
    throw new SwarmcastError(
      `${latest.id} failed before visiting any partition (${latest.error ?? 'no error given'}), so nothing was sent and there is nothing to replay: send it again`,
    );
  }
  const failedPartitions = latest.summary?.failedPartitions ?? [];
  if (failedPartitions.length === 0) {
    return {
      action: 'nothing',
      reason: `nothing failed: ${latest.id} reached every partition it planned (${latest.summary?.partitions ?? 0}) and every socket; nothing to replay`,
    };
  }
  return startReplay(broadcast, { broadcastId: broadcast.id, partitions: failedPartitions });
}

function startReplay(broadcast: BroadcastStatus, input: ReplayInput): Extract<ReplayPlan, { action: 'start' }> {
  const next =
    Math.max(
      broadcast.highestReplayName ?? 0,
      ...broadcast.replays.map((replay) => replayNumber(broadcast.id, replay.id) ?? 0),
    ) + 1;
  const id = replayId(broadcast.id, next);
  if (id.length > 80)
    throw new SwarmcastError(
      `the replay's execution name ${id} would be longer than 80 characters; start it by hand with ${JSON.stringify(input)}`,
    );
  return { action: 'start', id, input };
}

/**
 * Progress arithmetic, no I/O: from a broadcast's plan and summed counts, whether delivery is done,
 * its deadline, its summary and the one-line cause a failed execution gives.
 */
import { DELIVERY_GRACE_SECONDS } from '#commons/constants';
import type { BroadcastCounters, DeliveryCounts } from '#commons/broadcasts/counts';
import { failureReasonsText } from '#commons/broadcasts/failure-reasons';
import type { BroadcastPlan } from '#commons/broadcasts/plan';

/** ReadProgress waits this long past the deadline for the last counts (see DELIVERY_GRACE_SECONDS). */
export const DELIVERY_GRACE_MS = DELIVERY_GRACE_SECONDS * 1000;

export type BroadcastState = BroadcastPlan & BroadcastCounters & { broadcastId: string };

export interface BroadcastSummary extends DeliveryCounts {
  broadcastId: string;
  /** Partitions visited (their connections enqueued). */
  partitions: number;
  /** Partitions planned but not visited: the ones a replay would send to. */
  failedPartitions: number[];
  /** Connections enqueued for delivery. */
  connections: number;
  /** From the start of the latest execution to the last delivery. */
  durationMs: number;
}

export interface BroadcastProgress {
  enqueued: number;
  accounted: number;
  done: boolean;
  /** The delivery deadline (epoch ms): deliveryDeadline of the state read. */
  deliverBy: number;
  /** Sockets still unaccounted for DELIVERY_GRACE_MS past the deadline: their counts are lost (a DLQ, a lost write). */
  timedOut: boolean;
  /** Whether the failed sockets are within toleratedFailedSocketsPercentage: when done and not, the execution fails with DeliveryIncomplete. */
  failedSocketsTolerated: boolean;
  /** One line for the execution's error cause: delivered, gone, failed and why. */
  cause: string;
  summary: BroadcastSummary;
}
/** Whether `failed` of `enqueued` sockets is within the tolerated percentage (compared in whole numbers: 0 % tolerates none). */
export function withinFailedSocketsTolerance(failed: number, enqueued: number, toleratedPercentage: number): boolean {
  return failed * 100 <= enqueued * toleratedPercentage;
}

/**
 * The one delivery deadline: `deliveryTimeoutMs` after the last enqueue (or the start), or the
 * plan's `deliverBy` if that is later (it only ever moves later). From the last enqueue, so a
 * redrive hours later gets a full timeout for its children's delivery; not from the last delivery:
 * a trickle of deliveries must not keep the AwaitDelivery loop going past the history limit (config.ts).
 */
export function deliveryDeadline(
  state: Pick<BroadcastState, 'startedAt' | 'lastEnqueuedAt' | 'deliveryTimeoutMs' | 'deliverBy'>,
): number {
  return Math.max(state.deliverBy ?? 0, Math.max(state.startedAt, state.lastEnqueuedAt ?? 0) + state.deliveryTimeoutMs);
}

/**
 * Delivery is done when every enqueued connection is delivered, gone or failed; consumers past
 * the deadline count what is left as failed, so it is done soon after the deadline. Whether the
 * failed ones are too many is the operator's setting (toleratedFailedSocketsPercentage).
 */
export function progressOf(
  state: BroadcastState,
  now = Date.now(),
  toleratedFailedSocketsPercentage = 0,
): BroadcastProgress {
  const enqueued = [...state.enqueued.values()].reduce((sum, count) => sum + count, 0);
  const accounted = state.delivered + state.gone + state.failed;
  const done = accounted >= enqueued;
  const deliveryEnd = done ? Math.max(state.lastDeliveryAt ?? state.startedAt, state.startedAt) : now;
  const deliverBy = deliveryDeadline(state);
  const failedPartitions: number[] = [];
  for (let partition = 0; partition < state.partitionCount; partition++)
    if (!state.enqueued.has(partition)) failedPartitions.push(partition);
  const failedPercent = enqueued > 0 ? ((state.failed * 100) / enqueued).toFixed(2).replace(/\.?0+$/, '') : '0';
  const reasons = failureReasonsText(state.failedBy);
  const cause =
    `${state.failed.toLocaleString('en-US')} of ${enqueued.toLocaleString('en-US')} sockets failed (${failedPercent} %, tolerated ${toleratedFailedSocketsPercentage} %)${reasons ? `: ${reasons}` : ''}; ` +
    `${state.delivered.toLocaleString('en-US')} delivered, ${state.gone.toLocaleString('en-US')} gone. \`swarmcast replay ${state.broadcastId}\` sends to the failed sockets again.`;
  return {
    enqueued,
    accounted,
    done,
    deliverBy,
    timedOut: !done && now > deliverBy + DELIVERY_GRACE_MS,
    failedSocketsTolerated: withinFailedSocketsTolerance(state.failed, enqueued, toleratedFailedSocketsPercentage),
    cause,
    summary: {
      broadcastId: state.broadcastId,
      partitions: state.enqueued.size,
      failedPartitions,
      connections: enqueued,
      delivered: state.delivered,
      gone: state.gone,
      failed: state.failed,
      failedBy: state.failedBy ?? {},
      unanswered: state.unanswered ?? 0,
      durationMs: deliveryEnd - state.startedAt,
    },
  };
}

const INCOMPLETE_CAUSE = /^([\d,]+) of ([\d,]+) sockets failed .*; ([\d,]+) delivered, ([\d,]+) gone\./;

/**
 * The counts in a DeliveryIncomplete cause (the `cause` of progressOf above), for a reader that
 * has only the execution's error, as the fleet coordinator has; undefined for any other text.
 */
export function countsFromIncompleteCause(
  cause: string,
): { connections: number; delivered: number; gone: number; failed: number } | undefined {
  const match = INCOMPLETE_CAUSE.exec(cause);
  if (!match) return undefined;
  const [failed, connections, delivered, gone] = match.slice(1).map((text) => Number(text.replaceAll(',', '')));
  return { connections, delivered, gone, failed };
}

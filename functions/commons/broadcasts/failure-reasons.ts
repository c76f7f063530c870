/**
 * Why a delivery gave up on a socket, and the words for each reason: the execution's cause (see
 * progressOf) and `swarmcast status` say them alike.
 */
/**
 * Why a socket was given up on: no call granted before the delivery deadline; 429 for that
 * socket up to the deadline (a slow reader: its buffer stayed full); 429 from the account's
 * throttle up to the deadline; 403 or 413; another answer
 * no retry can fix; 5xx or no answer past maxDeliveryAttempts; or SQS refused to take it back.
 */
export const FAILURE_REASONS = [
  'deadline',
  'slowReader',
  'throttled',
  'forbidden',
  'tooLarge',
  'refused',
  'unavailable',
  'unqueued',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];
export type FailureCounts = Partial<Record<FailureReason, number>>;

/** Words for the failure reasons in a cause and in `swarmcast status`. */
export const FAILURE_REASON_TEXT: Record<FailureReason, string> = {
  deadline: 'throttled past the delivery deadline',
  slowReader: 'slow readers (429, buffer full, until the delivery deadline)',
  throttled: "429 from the account's throttle until the delivery deadline",
  forbidden: 'refused with 403',
  tooLarge: 'refused with 413 (too large)',
  refused: 'refused otherwise',
  unavailable: '5xx or no answer on every attempt',
  unqueued: 'not re-queued (SQS refused)',
};

/** "7,971 throttled past the delivery deadline, 3 refused with 403", the largest first. */
export function failureReasonsText(failedBy: FailureCounts = {}): string {
  return FAILURE_REASONS.filter((reason) => (failedBy[reason] ?? 0) > 0)
    .sort((a, b) => failedBy[b]! - failedBy[a]!)
    .map((reason) => `${failedBy[reason]!.toLocaleString('en-US')} ${FAILURE_REASON_TEXT[reason]}`)
    .join(', ');
}

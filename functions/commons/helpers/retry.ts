/**
 * The one retry loop for AWS calls our code retries beyond the SDK's own retries: a call that
 * throws (throttled, by default) and a batch call that leaves part of its work unprocessed both
 * wait the same full-jitter exponential backoff between tries.
 */
import { isThrottlingError, ThrottledError } from '#commons/errors';
import { jitteredBackoffMs, sleep } from '#commons/helpers/concurrency';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseMs: number;
  capMs: number;
  /** Which errors are worth another try; any other is thrown at once. */
  retryable: (error: unknown) => boolean;
  /** What to throw once the tries run out (the last error itself when absent). */
  outOfTries?: (lastError: unknown, what: string, attempts: number) => unknown;
}

/**
 * DynamoDB throttling outlasting the SDK's retries: four tries, 0–200 ms up to 0–800 ms apart, then
 * ThrottledError, which the state machine and the queues retry later.
 */
export const THROTTLED_DYNAMODB_CALLS: RetryPolicy = {
  attempts: 4,
  baseMs: 100,
  capMs: 5_000,
  retryable: isThrottlingError,
  outOfTries: (lastError, what, attempts) =>
    new ThrottledError(`DynamoDB throttled ${what} ${attempts} times`, { cause: lastError }),
};

/** The wait before try `attempt + 1` (attempt ≥ 1). */
const backoff = (attempt: number, policy: RetryPolicy): Promise<void> =>
  sleep(jitteredBackoffMs(attempt, policy.baseMs, policy.capMs));

/**
 * Runs `call` until it succeeds, an error the policy does not retry is thrown, or the tries run out;
 * then the policy's outOfTries says what to throw (for DynamoDB throttling: ThrottledError naming `what`).
 */
export async function retryWithBackoff<T>(
  what: string,
  call: () => Promise<T>,
  policy: RetryPolicy = THROTTLED_DYNAMODB_CALLS,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!policy.retryable(error)) throw error;
      if (attempt === policy.attempts) throw policy.outOfTries ? policy.outOfTries(error, what, attempt) : error;
      await backoff(attempt, policy);
    }
  }
}

/**
 * Sends `pending` until nothing is left or the tries run out: `send` returns what the service left
 * unprocessed (BatchGetItem's UnprocessedKeys, SendMessageBatch's Failed[]), which goes again after
 * a backoff. Returns what is still left after the last try: the caller decides what that means.
 */
export async function retryUnprocessed<T>(
  pending: readonly T[],
  send: (pending: readonly T[]) => Promise<readonly T[]>,
  policy: RetryPolicy = THROTTLED_DYNAMODB_CALLS,
): Promise<readonly T[]> {
  let left = pending;
  for (let attempt = 1; left.length > 0; attempt++) {
    left = await send(left);
    if (left.length === 0 || attempt === policy.attempts) return left;
    await backoff(attempt, policy);
  }
  return left;
}

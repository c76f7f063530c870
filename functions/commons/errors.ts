/** A deploy or local-stack wiring mistake: thrown at cold start, never per request. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/**
 * A broadcast request that cannot be run as given. The message says what was wrong
 * and what is allowed; Step Functions shows `InvalidBroadcastError` as the error name.
 */
export class InvalidBroadcastError extends Error {
  override name = 'InvalidBroadcastError';
}

/** The broadcast id names no broadcast record (replay of an unknown broadcast). */
export class BroadcastNotFoundError extends Error {
  override name = 'BroadcastNotFoundError';
}

/** A partition could not be read or enqueued; the map counts it as a failed item. */
export class PartitionFailedError extends Error {
  override name = 'PartitionFailedError';
}

/**
 * The child could not finish because AWS throttled it. The state machine retries this with
 * backoff; the partitions already enqueued are skipped on the retry.
 */
export class ThrottledError extends Error {
  override name = 'ThrottledError';
}

const THROTTLING_ERRORS = new Set(['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'RequestThrottled', 'TooManyRequestsException', 'LimitExceededException']);

/** Whether an AWS SDK error says the call was throttled (and will succeed later). */
export function isThrottlingError(error: unknown): boolean {
  const sdkError = error as { name?: string; $retryable?: { throttling?: boolean } };
  return THROTTLING_ERRORS.has(sdkError?.name ?? '') || sdkError?.$retryable?.throttling === true;
}

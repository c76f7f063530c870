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

const THROTTLING_ERRORS = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'TooManyRequestsException',
  'LimitExceededException',
]);

/** Whether an AWS SDK error says the call was throttled (and will succeed later). */
export function isThrottlingError(error: unknown): boolean {
  const sdkError = error as { name?: string; $retryable?: { throttling?: boolean } };
  return THROTTLING_ERRORS.has(sdkError?.name ?? '') || sdkError?.$retryable?.throttling === true;
}

/**
 * The child could not finish because DynamoDB or SQS did not answer (no connection, 5xx, a
 * timeout). The state machine retries this longer than throttling: the partitions whose tasks
 * went out are claimed by their consumers (see claimPartition), so a retry sends nothing twice.
 */
export class UnavailableError extends Error {
  override name = 'UnavailableError';
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** Whether an AWS SDK error says the service did not answer or failed on its side (and may answer later). */
export function isUnavailableError(error: unknown): boolean {
  const sdkError = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; cause?: unknown };
  if (NETWORK_ERROR_CODES.has(sdkError?.code ?? '') || sdkError?.name === 'TimeoutError') return true;
  if ((sdkError?.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  return sdkError?.cause !== undefined && sdkError.cause !== error && isUnavailableError(sdkError.cause);
}

/**
 * What a task handler throws for `error`: DynamoDB or SQS not answering (or throttling past the
 * SDK's retries) becomes UnavailableError, which the state machine retries; anything else as is.
 */
export function asRetryable(error: unknown, what: string): unknown {
  if (error instanceof UnavailableError || error instanceof ThrottledError) return error;
  return isThrottlingError(error) || isUnavailableError(error)
    ? new UnavailableError(`${what}: ${(error as Error).message}`, { cause: error })
    : error;
}

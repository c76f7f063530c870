/** The AWS limits the handlers check most, as named constants (the values come from aws-limits.ts), and the consumer's timeout and the delivery grace that follows from it. */
import { AWS_LIMITS } from './aws-limits';

/** API Gateway WebSocket message payload limit. */
export const MAX_MESSAGE_BYTES = AWS_LIMITS.webSocketMessageBytes.value;
/** Step Functions state payload limit; the local Step Functions API enforces it on input too. */
export const MAX_STATE_PAYLOAD_BYTES = AWS_LIMITS.stepFunctionsPayloadBytes.value;
/** SQS limits: one message, and one SendMessageBatch. */
export const MAX_SQS_MESSAGE_BYTES = AWS_LIMITS.sqsMessageBytes.value;
export const MAX_SQS_BATCH_ENTRIES = AWS_LIMITS.sqsBatchEntries.value;

/**
 * The shard consumer's (post-message) Lambda timeout: the stack sets it, the delivery deadline's
 * grace allows for it (an invocation begun before the deadline ends within it).
 */
export const CONSUMER_TIMEOUT_SECONDS = 60;
/**
 * How long after the delivery deadline ReadProgress waits for the last counts before it gives up
 * on them (DeliveryTimeout): a consumer invocation begun before the deadline ends within its
 * timeout, and a task re-queued before the deadline comes back by then (its delay stops at the deadline).
 */
export const DELIVERY_GRACE_SECONDS = CONSUMER_TIMEOUT_SECONDS;

/** The AWS limits the handlers check most, as named constants; the values come from aws-limits.ts. */
import { AWS_LIMITS } from './aws-limits';

/** API Gateway WebSocket message payload limit. */
export const MAX_MESSAGE_BYTES = AWS_LIMITS.webSocketMessageBytes.value;
/** Step Functions state payload limit; the local Step Functions API enforces it on input too. */
export const MAX_STATE_PAYLOAD_BYTES = AWS_LIMITS.stepFunctionsPayloadBytes.value;
/** SQS limits: one message, and one SendMessageBatch. */
export const MAX_SQS_MESSAGE_BYTES = AWS_LIMITS.sqsMessageBytes.value;
export const MAX_SQS_BATCH_ENTRIES = AWS_LIMITS.sqsBatchEntries.value;

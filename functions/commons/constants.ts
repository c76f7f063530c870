/** API Gateway WebSocket message payload limit. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** Step Functions state payload limit; the local Step Functions API enforces it on input too. */
export const MAX_STATE_PAYLOAD_BYTES = 256 * 1024;
/** SQS limits: one message, and one SendMessageBatch. */
export const MAX_SQS_MESSAGE_BYTES = 1024 * 1024;
export const MAX_SQS_BATCH_ENTRIES = 10;

/**
 * Turns a received SQS message into the record Lambda's SQS event source gives a handler,
 * field for field (camelCase keys, string attributes, base64 binary values).
 */
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';

export class MalformedSqsMessageError extends Error {
  override name = 'MalformedSqsMessageError';
}

/** System attributes Lambda copies into `attributes` when SQS returns them (the last four: FIFO and X-Ray). */
const SYSTEM_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SenderId',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageGroupId',
  'MessageDeduplicationId',
  'AWSTraceHeader',
] as const;
const REQUIRED_ATTRIBUTES = SYSTEM_ATTRIBUTES.slice(0, 4);

export function toSqsRecord(message: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const received = message.Attributes ?? {};
  // A handler reading ApproximateReceiveCount must never see NaN: the poller asks for All attributes.
  const missing = REQUIRED_ATTRIBUTES.filter((name) => received[name] === undefined);
  if (!message.MessageId || !message.ReceiptHandle || missing.length > 0) {
    throw new MalformedSqsMessageError(
      `message ${message.MessageId} from ${eventSourceARN} lacks ${missing.join(', ') || 'its id or receipt handle'}`,
    );
  }
  const attributes = Object.fromEntries(
    SYSTEM_ATTRIBUTES.filter((name) => received[name] !== undefined).map((name) => [name, received[name]]),
  ) as unknown as SQSRecordAttributes;
  return {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body ?? '',
    attributes,
    messageAttributes: toRecordMessageAttributes(message.MessageAttributes ?? {}),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
}

function toRecordMessageAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
        ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
        stringListValues: value.StringListValues ?? [],
        binaryListValues: (value.BinaryListValues ?? []).map((binary) => Buffer.from(binary).toString('base64')),
        dataType: value.DataType ?? 'String',
      },
    ]),
  );
}

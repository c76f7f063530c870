/** The SQS record the local event source hands post-message: field for field what Lambda's SQS event source gives. */
import { MalformedSqsMessageError, toSqsRecord } from '../../../../local/sqs/lambda-sqs-event';

const ARN = 'arn:aws:sqs:us-east-1:000000000000:swarmcast-shard-0';
const ATTRIBUTES = {
  ApproximateReceiveCount: '2',
  SentTimestamp: '1700000000000',
  SenderId: 'AIDA',
  ApproximateFirstReceiveTimestamp: '1700000000100',
};

describe('toSqsRecord', () => {
  it('maps a message to Lambda’s record shape', () => {
    const record = toSqsRecord(
      {
        MessageId: 'm-1',
        ReceiptHandle: 'rh',
        Body: '{"a":1}',
        MD5OfBody: 'md5',
        Attributes: { ...ATTRIBUTES, Policy: 'not a system attribute Lambda copies' } as Record<string, string>,
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'task' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
        },
      },
      ARN,
      'us-east-1',
    );
    expect(record).toEqual({
      messageId: 'm-1',
      receiptHandle: 'rh',
      body: '{"a":1}',
      attributes: ATTRIBUTES,
      messageAttributes: {
        kind: { stringValue: 'task', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: {
          binaryValue: Buffer.from('hi').toString('base64'),
          stringListValues: [],
          binaryListValues: [],
          dataType: 'Binary',
        },
      },
      md5OfBody: 'md5',
      eventSource: 'aws:sqs',
      eventSourceARN: ARN,
      awsRegion: 'us-east-1',
    });
  });

  it('refuses a message without the attributes a handler relies on, naming them', () => {
    expect(() =>
      toSqsRecord({ MessageId: 'm-2', ReceiptHandle: 'rh', Attributes: { SentTimestamp: '1' } }, ARN, 'us-east-1'),
    ).toThrow(
      new MalformedSqsMessageError(
        `message m-2 from ${ARN} lacks ApproximateReceiveCount, SenderId, ApproximateFirstReceiveTimestamp`,
      ),
    );
  });
});

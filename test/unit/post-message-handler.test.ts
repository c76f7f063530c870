import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSEvent } from 'aws-lambda';
import { handler } from '../../functions/post-message';
import { answerUpdates } from './helpers/dynamodb-answers';

const dynamo = mockClient(DynamoDBDocumentClient);

const record = (messageId: string, body: string) => ({ messageId, body, receiptHandle: messageId, attributes: {}, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:eu-west-1:1:shard-0', awsRegion: 'eu-west-1' });

describe('post-message handler', () => {
  it('reports only the malformed message as a batch item failure', async () => {
    dynamo.on(GetCommand).resolves({ Item: { kind: 'message', message: 'hi' } });
    answerUpdates(dynamo);
    const event = { Records: [record('good', JSON.stringify({ broadcastId: 'b1', partition: 0, attempt: 0, connectionIds: [] })), record('bad', 'oops')] } as unknown as SQSEvent;

    const response = await handler(event, { getRemainingTimeInMillis: () => 60_000 } as Context);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad' }] });
  });
});

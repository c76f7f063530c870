import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { answerUpdates } from '../helpers/dynamodb-answers';

const dynamo = mockClient(DynamoDBDocumentClient);

const record = (messageId: string, body: string, receiveCount = 2) => ({
  messageId,
  body,
  receiptHandle: messageId,
  attributes: { ApproximateReceiveCount: String(receiveCount) },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:1:shard-0',
  awsRegion: 'eu-west-1',
});

/** A stand-in @connections API on loopback that answers 200 and records which ids were posted what. */
const posted: { id: string; body: string }[] = [];
let server: http.Server;
let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      posted.push({ id: decodeURIComponent(request.url!.split('/').pop()!), body: Buffer.concat(chunks).toString() });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // The handler reads its endpoint at cold start: point it here before loading it.
  process.env.CONNECTIONS_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live`;
  ({ handler } = require('../../../functions/post-message') as { handler: typeof handler });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Answers the delivery budget's clock item (RateBudget) as DynamoDB would: a restart SETs it, an extension ADDs to it. */
function answerBudgetClock(): void {
  let reservedUntilUs = 0;
  answerUpdates(dynamo, ({ TableName, ExpressionAttributeValues: values = {} }) => {
    if (TableName !== 'RateBudget') return {};
    reservedUntilUs = values[':end'] ?? reservedUntilUs + values[':d'];
    return { reservedUntilUs };
  });
}

const invoke = (records: ReturnType<typeof record>[]) =>
  handler({ Records: records } as unknown as SQSEvent, { getRemainingTimeInMillis: () => 60_000 } as Context);

beforeEach(() => {
  dynamo.reset();
  posted.length = 0;
});

describe('post-message handler', () => {
  it('a message an earlier receive finished (its delete was lost) posts nothing; the others are posted and marked finished', async () => {
    dynamo.on(GetCommand).resolves({ Item: { kind: 'message', message: 'hi' } });
    dynamo.on(GetCommand, { Key: { item: 'plan' } }).resolves({ Item: { deliverBy: Date.now() + 60_000 } });
    answerBudgetClock();
    dynamo.on(BatchGetCommand).resolves({ Responses: { Broadcasts: [{ item: 'done#m-finished' }] } });
    const finished = { broadcastId: 'b1', partition: 0, attempt: 0, connectionIds: ['already-1', 'already-2'] };
    const fresh = { broadcastId: 'b1', partition: 1, attempt: 0, connectionIds: ['new-1'] };

    const response = await invoke([
      record('m-finished', JSON.stringify(finished)),
      record('m-fresh', JSON.stringify(fresh)),
    ]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(posted.map((p) => p.id)).toEqual(['new-1']);
    const asked = dynamo.commandCalls(BatchGetCommand)[0].args[0].input.RequestItems!.Broadcasts;
    expect(asked.Keys).toEqual([
      { broadcastId: 'b1', item: 'done#m-finished' },
      { broadcastId: 'b1', item: 'done#m-fresh' },
    ]);
    expect(asked.ConsistentRead).toBe(true);
    const marked = dynamo
      .commandCalls(BatchWriteCommand)
      .flatMap((c) => c.args[0].input.RequestItems!.Broadcasts.map((r) => r.PutRequest!.Item));
    expect(marked).toEqual([expect.objectContaining({ broadcastId: 'b1', item: 'done#m-fresh' })]);
  });

  it('a batch of first receives looks nothing up (no earlier receive can have finished them), and still marks what it finishes', async () => {
    dynamo.on(GetCommand).resolves({ Item: { kind: 'message', message: 'hi' } });
    dynamo.on(GetCommand, { Key: { item: 'plan' } }).resolves({ Item: { deliverBy: Date.now() + 60_000 } });
    answerBudgetClock();
    const task = { broadcastId: 'b3', partition: 0, attempt: 0, connectionIds: ['p', 'q'] };

    const response = await invoke([record('first-1', JSON.stringify(task), 1)]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(posted.map((p) => p.id).sort()).toEqual(['p', 'q']);
    expect(dynamo.commandCalls(BatchGetCommand)).toHaveLength(0);
    expect(dynamo.commandCalls(BatchWriteCommand)).toHaveLength(1);
  });

  it('if the finished tasks cannot be looked up, every task of the batch is delivered', async () => {
    dynamo.on(GetCommand).resolves({ Item: { kind: 'message', message: 'hi' } });
    dynamo.on(GetCommand, { Key: { item: 'plan' } }).resolves({ Item: { deliverBy: Date.now() + 60_000 } });
    answerBudgetClock();
    dynamo.on(BatchGetCommand).rejects(Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' }));
    const task = { broadcastId: 'b2', partition: 0, attempt: 0, connectionIds: ['x', 'y'] };

    const response = await invoke([record('m1', JSON.stringify(task))]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(posted.map((p) => p.id).sort()).toEqual(['x', 'y']);
  });

  it('delivers the good record to each of its ids and reports only the malformed message as a batch item failure', async () => {
    dynamo.on(GetCommand).resolves({ Item: { kind: 'message', message: 'hi' } });
    dynamo.on(GetCommand, { Key: { item: 'plan' } }).resolves({ Item: { deliverBy: Date.now() + 60_000 } });
    answerBudgetClock();
    const good = { broadcastId: 'b1', partition: 0, attempt: 0, connectionIds: ['a+b/c=', 'd-e_f='] };
    const event = { Records: [record('good', JSON.stringify(good)), record('bad', 'oops')] } as unknown as SQSEvent;

    const response = await handler(event, { getRemainingTimeInMillis: () => 60_000 } as Context);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad' }] });
    expect(posted.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'a+b/c=', body: 'hi' },
      { id: 'd-e_f=', body: 'hi' },
    ]);
    const counts = dynamo
      .commandCalls(UpdateCommand)
      .map((c) => c.args[0].input)
      .filter((input) => input.TableName === 'Broadcasts');
    expect(counts).toHaveLength(1);
    expect(counts[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 2, ':gone': 0, ':failed': 0 });
  });
});

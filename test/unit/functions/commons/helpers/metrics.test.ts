import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { APIGatewayProxyWebsocketEventV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { answerUpdates } from '../../../helpers/dynamodb-answers';

// As Powertools' docs suggest for tests: POWERTOOLS_DEV sends the EMF lines to the global
// console, where a spy reads them; metrics are turned back on (setup-env turns them off).
// The handlers, and the metrics module, are imported only after this (Metrics reads it once).
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
// A budget slow enough, and room for every call of a 120-id batch in flight at once: each call
// waits only for its grant, the last ones ~0.6 s.
process.env.DELIVERY_RATE_PER_SECOND = '200';
process.env.POST_CONCURRENCY = '200';

const dynamo = mockClient(DynamoDBDocumentClient);
const connectEvent = { requestContext: { connectionId: 'c1' } } as unknown as APIGatewayProxyWebsocketEventV2;

type EmfDocument = Record<string, unknown> & {
  _aws: {
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
};

/** The EMF documents printed during `run`. */
async function emitted(run: () => Promise<unknown>): Promise<EmfDocument[]> {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await run().catch(() => undefined);
    return log.mock.calls.map(([line]) => JSON.parse(String(line)) as EmfDocument);
  } finally {
    log.mockRestore();
  }
}

describe('handler metrics', () => {
  beforeEach(() => dynamo.reset());

  it('$connect publishes one Connects count in the Swarmcast namespace, dimensioned by service only', async () => {
    dynamo.onAnyCommand().resolves({});
    const { handler } = await import('../../../../../functions/connect');

    const [document] = await emitted(() => handler(connectEvent));

    expect(document).toMatchObject({ Connects: 1, service: 'swarmcast' });
    const [directive] = document._aws.CloudWatchMetrics;
    expect(directive).toMatchObject({ Namespace: 'Swarmcast', Dimensions: [['service']] });
  });

  it('counts no connect that did not happen', async () => {
    dynamo.onAnyCommand().rejects(new Error('table unavailable'));
    const { handler } = await import('../../../../../functions/connect');

    const documents = await emitted(() => handler(connectEvent));

    expect(documents.some((document) => 'Connects' in document)).toBe(false);
  });
});

/**
 * A stand-in @connections API on loopback: every answer takes POST_DELAY_MS, and the ids in
 * `throttleOnce` answer 429 to their first call.
 */
const POST_DELAY_MS = 30;
const throttleOnce = new Set<string>();
let server: http.Server;

const sqsRecord = (messageId: string, task: object) => ({
  messageId,
  body: JSON.stringify(task),
  receiptHandle: messageId,
  attributes: {},
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:1:shard-0',
  awsRegion: 'eu-west-1',
});
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const values = (value: unknown): number[] => (Array.isArray(value) ? value : [value]) as number[];

describe('post-message metrics', () => {
  let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  let SUMMARY_POINTS: number;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const id = decodeURIComponent(request.url!.split('/').pop()!);
        const status = throttleOnce.delete(id) ? 429 : 200;
        setTimeout(() => response.writeHead(status).end(), POST_DELAY_MS);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.CONNECTIONS_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live`;
    ({ handler } = await import('../../../../../functions/post-message'));
    ({ SUMMARY_POINTS } = await import('#commons/helpers/metrics'));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    dynamo.reset();
    dynamo.on(GetCommand).resolves({ Item: { kind: 'message', message: 'hi' } });
    dynamo.on(GetCommand, { Key: { item: 'plan' } }).resolves({ Item: { deliverBy: Date.now() + 60_000 } });
    let reservedUntilUs = 0;
    answerUpdates(dynamo, ({ TableName, ExpressionAttributeValues: values = {} }) => {
      if (TableName !== 'RateBudget') return {};
      reservedUntilUs = values[':end'] ?? reservedUntilUs + values[':d'];
      return { reservedUntilUs };
    });
  });

  it('publishes 429s, post latency and budget wait of a whole batch in one record, a summary of at most SUMMARY_POINTS values each, dimensioned by service only', async () => {
    // Two broadcasts in one batch, 120 sockets, two of them throttled once: 122 calls.
    throttleOnce.add('a3').add('b7');
    const event = {
      Records: [
        sqsRecord('m1', { broadcastId: 'a', partition: 0, attempt: 0, connectionIds: ids('a', 60) }),
        sqsRecord('m2', { broadcastId: 'b', partition: 1, attempt: 0, connectionIds: ids('b', 60) }),
      ],
    } as unknown as SQSEvent;

    const documents = await emitted(() => handler(event, { getRemainingTimeInMillis: () => 60_000 } as Context));

    expect(documents).toHaveLength(1);
    const [document] = documents;
    expect(document).toMatchObject({ service: 'swarmcast', PostsDelivered: 120, PostsThrottled: 2 });
    const [directive] = document._aws.CloudWatchMetrics;
    expect(directive.Dimensions).toEqual([['service']]);
    expect(directive.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'PostsThrottled', Unit: 'Count' },
        { Name: 'PostLatency', Unit: 'Milliseconds' },
        { Name: 'BudgetWait', Unit: 'Milliseconds' },
      ]),
    );
    expect(JSON.stringify(document)).not.toMatch(/broadcast/i);
    const latency = values(document.PostLatency);
    const budgetWait = values(document.BudgetWait);
    expect(latency).toHaveLength(SUMMARY_POINTS);
    expect(budgetWait).toHaveLength(SUMMARY_POINTS);
    // Every call took the stand-in's delay; the summary is in rank order.
    expect(Math.min(...latency)).toBeGreaterThanOrEqual(POST_DELAY_MS - 2);
    expect(latency).toEqual([...latency].sort((x, y) => x - y));
    // 122 calls asking at once at 200/s: the last grant comes ~0.6 s after the first, whatever else
    // the machine delays (a loaded one delays the first grant too).
    expect(Math.max(...budgetWait) - Math.min(...budgetWait)).toBeGreaterThan(400);
  });

  it('publishes each call of a small batch as it is, and 0 throttled when nothing answered 429', async () => {
    const event = {
      Records: [sqsRecord('m1', { broadcastId: 'a', partition: 0, attempt: 0, connectionIds: ids('c', 3) })],
    } as unknown as SQSEvent;

    const [document] = await emitted(() => handler(event, { getRemainingTimeInMillis: () => 60_000 } as Context));

    expect(document).toMatchObject({ PostsDelivered: 3, PostsThrottled: 0 });
    expect(values(document.PostLatency)).toHaveLength(3);
    expect(values(document.BudgetWait)).toHaveLength(3);
  });
});

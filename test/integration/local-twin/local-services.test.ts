/**
 * The local DynamoDB and SQS services with the real SDK v3 clients, no mocks: tables as the
 * CDK stack builds them, the TTL reaper, and the SQS event source's Lambda semantics.
 */
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDynamoDb, type LocalDynamoDb } from '../../../local/dynamodb';
import { startSqs, type LocalSqs } from '../../../local/sqs';
import { startEventSource, type EventSourceOptions } from '../../../local/sqs/event-source';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const region = 'us-east-1';

/**
 * A pass-through HTTP proxy in front of local SQS: counts the requests and the client
 * connections still open, so a test can see a client stop talking to SQS.
 */
async function sqsProxy(
  target: string,
): Promise<{ endpoint: string; readonly requests: number; openConnections(): number; close(): Promise<void> }> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createServer(async (request, response) => {
    requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)),
    ) as Record<string, string>;
    const answer = await fetch(`${target}${request.url}`, {
      method: request.method,
      headers,
      body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
    });
    response.writeHead(
      answer.status,
      Object.fromEntries(
        [...answer.headers].filter(
          ([name]) => !['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name),
        ),
      ),
    );
    response.end(Buffer.from(await answer.arrayBuffer()));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    openConnections: () => sockets.size,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Polls until `check` passes or the deadline fails the test with its last error. */
async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

describe('local DynamoDB', () => {
  let dynamoDb: LocalDynamoDb;
  let client: DynamoDBClient;
  let documents: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamoDb = await startDynamoDb({ tablePrefix: 'itest', reaperIntervalMs: 200 });
    client = new DynamoDBClient({ endpoint: dynamoDb.endpoint, region, credentials });
    documents = DynamoDBDocumentClient.from(client);
  });
  afterAll(async () => {
    client.destroy();
    await dynamoDb.stop();
  });

  it('creates the tables like the CDK stack: on demand, Connections keyed by partition and id with no index', async () => {
    // prepare
    const expectedNames = {
      Connections: 'itest-Connections',
      Broadcasts: 'itest-Broadcasts',
      RateBudget: 'itest-RateBudget',
      Subscriptions: 'itest-Subscriptions',
    };

    // act
    const { Table } = await client.send(new DescribeTableCommand({ TableName: dynamoDb.tableNames.Connections }));
    const others = await Promise.all(
      [dynamoDb.tableNames.Broadcasts, dynamoDb.tableNames.RateBudget, dynamoDb.tableNames.Subscriptions].map(
        (TableName) => client.send(new DescribeTableCommand({ TableName })),
      ),
    );

    // assess
    expect(dynamoDb.tableNames).toEqual(expectedNames);
    expect(Table).toMatchObject({
      TableStatus: 'ACTIVE',
      BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
      KeySchema: [
        { AttributeName: 'partition', KeyType: 'HASH' },
        { AttributeName: 'connectionId', KeyType: 'RANGE' },
      ],
    });
    expect(Table?.GlobalSecondaryIndexes).toBeUndefined();
    expect(others.map(({ Table: table }) => table?.KeySchema)).toEqual([
      [
        { AttributeName: 'broadcastId', KeyType: 'HASH' },
        { AttributeName: 'item', KeyType: 'RANGE' },
      ],
      [{ AttributeName: 'budget', KeyType: 'HASH' }],
      [
        { AttributeName: 'channelPartition', KeyType: 'HASH' },
        { AttributeName: 'connectionId', KeyType: 'RANGE' },
      ],
    ]);
  });

  it('reaps expired rows and, like DynamoDB TTL, touches nothing else', async () => {
    // prepare
    const past = Math.floor(Date.now() / 1000) - 10;
    const future = past + 3_600;
    const { Connections, Broadcasts } = dynamoDb.tableNames;
    const put = (TableName: string, Item: Record<string, unknown>) =>
      documents.send(new PutCommand({ TableName, Item }));
    await put(Connections, { connectionId: 'gone-a', partition: 1, expiresAt: past });
    await put(Connections, { connectionId: 'gone-b', partition: 1, expiresAt: past });
    await put(Connections, { connectionId: 'live', partition: 1, expiresAt: future });
    await put(Connections, { connectionId: 'gone-c', partition: 2, expiresAt: past });
    await put(Broadcasts, { broadcastId: 'old', item: 'plan', expiresAt: past });
    const get = async (TableName: string, Key: Record<string, unknown>) =>
      (await documents.send(new GetCommand({ TableName, Key }))).Item;

    // act: the 200 ms reaper interval does the work
    await eventually(async () =>
      expect(await get(Connections, { partition: 2, connectionId: 'gone-c' })).toBeUndefined(),
    );

    // assess
    for (const [partition, connectionId] of [
      [1, 'gone-a'],
      [1, 'gone-b'],
      [2, 'gone-c'],
    ] as const)
      expect(await get(Connections, { partition, connectionId })).toBeUndefined();
    expect(await get(Connections, { partition: 1, connectionId: 'live' })).toBeDefined();
    await eventually(async () => expect(await get(Broadcasts, { broadcastId: 'old', item: 'plan' })).toBeUndefined());
    // A second pass finds nothing left to delete.
    expect(await dynamoDb.reapExpired()).toEqual({ Connections: 0, Broadcasts: 0, Subscriptions: 0 });
  });

  it('one pass reaps a table larger than one Scan page (the reaper reads in small pages and follows every one)', async () => {
    // prepare: a reaper that only runs when asked, 1,200 expired rows and one live row
    const own = await startDynamoDb({ tablePrefix: 'paged', reaperIntervalMs: 3_600_000 });
    const ownClient = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: own.endpoint, region, credentials }));
    const past = Math.floor(Date.now() / 1000) - 10;
    const rows = Array.from({ length: 1_200 }, (_, i) => ({
      connectionId: `expired-${i}`,
      partition: i % 7,
      expiresAt: past,
    }));
    rows.push({ connectionId: 'live', partition: 0, expiresAt: past + 3_600 });
    for (let i = 0; i < rows.length; i += 25) {
      await ownClient.send(
        new BatchWriteCommand({
          RequestItems: {
            [own.tableNames.Connections]: rows.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
          },
        }),
      );
    }

    // act
    const reaped = await own.reapExpired();

    // assess
    const { Count } = await ownClient.send(new ScanCommand({ TableName: own.tableNames.Connections, Select: 'COUNT' }));
    ownClient.destroy();
    await own.stop();
    expect(reaped.Connections).toBe(1_200);
    expect(Count).toBe(1);
  });

  it('keeps tables and rows in a data directory across restarts', async () => {
    // prepare
    const dataDir = await mkdtemp(path.join(tmpdir(), 'swarmcast-dynamodb-'));
    const first = await startDynamoDb({ dataDir, tablePrefix: 'disk' });
    const firstClient = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: first.endpoint, region, credentials }),
    );
    await firstClient.send(
      new PutCommand({
        TableName: first.tableNames.Connections,
        Item: { partition: 7, connectionId: 'kept=', expiresAt: 2e9 },
      }),
    );
    firstClient.destroy();
    await first.stop();

    // act
    const second = await startDynamoDb({ dataDir, tablePrefix: 'disk' });
    const secondClient = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: second.endpoint, region, credentials }),
    );
    const { Item } = await secondClient.send(
      new GetCommand({ TableName: second.tableNames.Connections, Key: { partition: 7, connectionId: 'kept=' } }),
    );
    secondClient.destroy();
    await second.stop();
    await rm(dataDir, { recursive: true, force: true });

    // assess
    expect(Item).toEqual({ partition: 7, connectionId: 'kept=', expiresAt: 2e9 });
  });

  it('refuses a data directory whose Connections table has the keys of an older version, naming the table', async () => {
    // prepare: a data directory as the version before partition keys left it
    const dataDir = await mkdtemp(path.join(tmpdir(), 'swarmcast-old-keys-'));
    const first = await startDynamoDb({ dataDir, tablePrefix: 'old' });
    const oldClient = new DynamoDBClient({ endpoint: first.endpoint, region, credentials });
    await oldClient.send(new DeleteTableCommand({ TableName: first.tableNames.Connections }));
    // DeleteTable answers before the table is gone: CreateTable would find it in use.
    await eventually(() =>
      expect(oldClient.send(new DescribeTableCommand({ TableName: first.tableNames.Connections }))).rejects.toThrow(
        /not found|ResourceNotFound/i,
      ),
    );
    await oldClient.send(
      new CreateTableCommand({
        TableName: first.tableNames.Connections,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
      }),
    );
    oldClient.destroy();
    await first.stop();

    // act
    const restart = startDynamoDb({ dataDir, tablePrefix: 'old' });

    // assess
    await expect(restart).rejects.toThrow(
      /table old-Connections in the data directory is keyed connectionId HASH, but this version keys it partition HASH, connectionId RANGE: start with another --data directory/,
    );
    await rm(dataDir, { recursive: true, force: true });
  });
});

describe('local SQS and its event source', () => {
  const maxReceiveCount = 2;
  let sqs: LocalSqs;
  let client: SQSClient;
  /** Each test takes its own shard queue, so leftovers of one cannot reach another. */
  let nextShard = 0;

  beforeAll(async () => {
    sqs = await startSqs({ shards: 6, maxReceiveCount, visibilityTimeoutSeconds: 1 });
    client = new SQSClient({ endpoint: sqs.endpoint, region, credentials });
  });
  afterAll(async () => {
    client.destroy();
    await sqs.stop();
  });

  const send = async (queueUrl: string, bodies: string[]) => {
    for (let start = 0; start < bodies.length; start += 10) {
      const { Failed } = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: bodies.slice(start, start + 10).map((body, index) => ({
            Id: String(index),
            MessageBody: body,
            MessageAttributes: { kind: { DataType: 'String', StringValue: 'test' } },
          })),
        }),
      );
      expect(Failed ?? []).toEqual([]);
    }
  };
  const sourceOptions = (queueUrl: string, handler: EventSourceOptions['handler']): EventSourceOptions => ({
    queueUrls: [queueUrl],
    handler,
    batchSize: 10,
    batchingWindowSeconds: 0,
    maximumConcurrency: 2,
    sqsEndpoint: sqs.endpoint,
  });

  it('creates each shard queue with its own DLQ and redrive policy', async () => {
    // act
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: sqs.shardQueueUrls[0], AttributeNames: ['All'] }),
    );

    // assess
    expect(sqs.shardQueueUrls).toHaveLength(6);
    expect(sqs.shardQueueUrls[3]).toMatch(/\/000000000000\/swarmcast-shard-3$/);
    expect(sqs.dlqUrls[3]).toMatch(/\/swarmcast-shard-3-dlq$/);
    expect(Attributes?.VisibilityTimeout).toBe('1');
    expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:swarmcast-shard-0-dlq',
      maxReceiveCount,
    });
  });

  it('hands messages to the handler as AWS-shaped events and deletes them', async () => {
    // prepare
    const queueUrl = sqs.shardQueueUrls[nextShard++];
    const events: SQSEvent[] = [];
    const source = await startEventSource(sourceOptions(queueUrl, async (event) => void events.push(event)));

    // act
    await send(queueUrl, ['{"n":1}', '{"n":2}', '{"n":3}']);
    await eventually(async () => expect(source.stats().deleted).toBe(3));
    const idle = await source.idle();
    await source.stop();

    // assess
    const records = events.flatMap((event) => event.Records);
    expect(records.map((record) => record.body).sort()).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    const record = records[0];
    expect(Object.keys(record).sort()).toEqual(
      [
        'attributes',
        'awsRegion',
        'body',
        'eventSource',
        'eventSourceARN',
        'md5OfBody',
        'md5OfMessageAttributes',
        'messageAttributes',
        'messageId',
        'receiptHandle',
      ].sort(),
    );
    expect(record).toMatchObject<Partial<SQSRecord>>({
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop()}`,
      awsRegion: 'us-east-1',
      md5OfBody: createHash('md5').update(record.body).digest('hex'),
      messageAttributes: {
        kind: { stringValue: 'test', stringListValues: [], binaryListValues: [], dataType: 'String' },
      },
    });
    expect(record.attributes).toEqual({
      ApproximateReceiveCount: '1',
      SentTimestamp: expect.stringMatching(/^\d{13}$/),
      SenderId: expect.any(String),
      ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
    });
    expect(source.stats()).toMatchObject({ messages: 3, deleted: 3, failed: 0, inFlightInvocations: 0 });
    expect(idle).toBe(true);
  });

  it('redelivers a message named in batchItemFailures until maxReceiveCount, then the DLQ has it', async () => {
    // prepare
    const shard = nextShard++;
    const receiveCounts: string[] = [];
    const source = await startEventSource(
      sourceOptions(sqs.shardQueueUrls[shard], async (event): Promise<SQSBatchResponse> => {
        const poison = event.Records.filter((record) => record.body === 'poison');
        receiveCounts.push(...poison.map((record) => record.attributes.ApproximateReceiveCount));
        return { batchItemFailures: poison.map((record) => ({ itemIdentifier: record.messageId })) };
      }),
    );

    // act
    await send(sqs.shardQueueUrls[shard], ['fine', 'poison']);
    const dlqMessages = await eventually(async () => {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({ QueueUrl: sqs.dlqUrls[shard], MaxNumberOfMessages: 10 }),
      );
      expect(Messages.map((message) => message.Body)).toEqual(['poison']);
      return Messages;
    });
    await source.stop();

    // assess
    expect(dlqMessages).toHaveLength(1);
    expect(receiveCounts).toEqual(['1', '2']);
    expect(source.stats()).toMatchObject({ messages: 3, deleted: 1, failed: 2 });
  });

  it('leaves the whole batch when the handler throws, so every message comes again', async () => {
    // prepare
    const queueUrl = sqs.shardQueueUrls[nextShard++];
    const deliveries: string[][] = [];
    const errors: unknown[] = [];
    const source = await startEventSource({
      ...sourceOptions(queueUrl, async (event) => {
        deliveries.push(
          event.Records.map((record) => `${record.body}#${record.attributes.ApproximateReceiveCount}`).sort(),
        );
        if (deliveries.length === 1) throw new Error('first invocation fails');
      }),
      onHandlerError: (error) => errors.push(error),
    });

    // act
    await send(queueUrl, ['a', 'b']);
    await eventually(async () => expect(source.stats().deleted).toBe(2));
    await source.stop();

    // assess
    expect(deliveries).toEqual([
      ['a#1', 'b#1'],
      ['a#2', 'b#2'],
    ]);
    expect(errors).toEqual([new Error('first invocation fails')]);
    expect(source.stats()).toMatchObject({ invocations: 2, failedInvocations: 1, failed: 2, deleted: 2 });
  });

  it('never runs more than maximumConcurrency invocations of one queue at once', async () => {
    // prepare
    const queueUrl = sqs.shardQueueUrls[nextShard++];
    let inFlight = 0;
    let maxInFlight = 0;
    // Each invocation holds its slot until three are in flight together (the slots fill by
    // events, however slow the machine), then a little longer: time for an event source that
    // allowed a fourth to start it. The correct one passes whatever the timing.
    const holding: (() => void)[] = [];
    const source = await startEventSource({
      ...sourceOptions(queueUrl, async () => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        if (inFlight >= 3) for (const release of holding.splice(0)) release();
        else await new Promise<void>((resolve) => holding.push(resolve));
        await sleep(50);
        inFlight--;
      }),
      batchSize: 1,
      maximumConcurrency: 3,
    });

    // act
    await send(
      queueUrl,
      Array.from({ length: 30 }, (_, n) => `m${n}`),
    );
    await eventually(async () => expect(source.stats().deleted).toBe(30));
    await source.stop();

    // assess
    expect(maxInFlight).toBe(3);
    expect(source.stats()).toMatchObject({ invocations: 30, messages: 30 });
  });

  it('stop() waits for invocations in flight, then polls no more', async () => {
    // prepare: the event source talks to SQS through a proxy that sees its connections and
    // requests; its one invocation takes a while (its own work, not a wait of the test)
    const queueUrl = sqs.shardQueueUrls[nextShard++];
    const proxy = await sqsProxy(sqs.endpoint);
    const order: string[] = [];
    let started = 0;
    const source = await startEventSource({
      ...sourceOptions(queueUrl, async () => {
        started++;
        await sleep(300);
        order.push('invocation finished');
      }),
      sqsEndpoint: proxy.endpoint,
    });
    try {
      await send(queueUrl, ['slow']);
      await eventually(() => expect(started).toBe(1));

      // act
      await source.stop();
      order.push('stop resolved');
      const requestsAtStop = proxy.requests;
      await send(queueUrl, ['after stop']);

      // assess: the invocation ended before stop() did; then the source let go of every connection
      // to SQS (an event: the proxy sees them close), having sent nothing after stop() resolved
      expect(order).toEqual(['invocation finished', 'stop resolved']);
      expect(source.stats()).toMatchObject({ invocations: 1, deleted: 1, inFlightInvocations: 0 });
      await eventually(() => expect(proxy.openConnections()).toBe(0));
      expect(proxy.requests).toBe(requestsAtStop);
      const { Attributes } = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      expect(Attributes?.ApproximateNumberOfMessages).toBe('1');
      expect(started).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});

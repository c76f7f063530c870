/**
 * The whole pipeline on the local stack: real WebSocket clients, the real handlers, the
 * real ASL file, real SDK clients against dynalite, local-aws-sqs and our gateway.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  InvalidExecutionInput,
  ListExecutionsCommand,
  ListMapRunsCommand,
  RedriveExecutionCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import WebSocket from 'ws';
import { ClientSwarm } from '../../../local/clients/swarm';
import { localSfnClient, waitForExecution } from '../../../local/demo';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { reportAfterDrain as drainedReport, waitUntil } from '../helpers/broadcasts';
import { connectionRows, enqueuedCounts, localDynamo } from '../../../local/inspection';
import { partitionOf } from '../../../functions/commons/partitions';

const CLIENTS = 300;
const PARTITIONS = 24;
/** While set, DynamoDB answers every Query of this partition with AccessDeniedException. */
let failingPartition: number | undefined;

let stack: LocalStack;
let swarm: ClientSwarm;
let sfn: SFNClient;
let dynamo: DynamoDBDocumentClient;

beforeAll(async () => {
  stack = await startLocalStack({
    config: {
      partitions: PARTITIONS,
      partitionsPerChild: 1,
      toleratedFailurePercentage: 0,
      shards: 3,
      connectionIdsPerMessage: 10,
    },
    progressPollMs: 50,
    dynamoDbFaults: (operation, input) => {
      const partition = (input.ExpressionAttributeValues as Record<string, { N?: string }> | undefined)?.[':partition']
        ?.N;
      if (operation === 'Query' && failingPartition !== undefined && partition === String(failingPartition)) {
        return {
          statusCode: 400,
          errorType: 'AccessDeniedException',
          message: 'injected: not authorized to query this partition',
        };
      }
      return undefined;
    },
  });
  sfn = localSfnClient(stack);
  dynamo = localDynamo(stack);
  swarm = await ClientSwarm.connect(stack.webSocketUrl, CLIENTS);
}, 120_000);

afterAll(async () => {
  await swarm?.close().catch(() => {});
  await swarm?.stop();
  await stack?.stop();
  dynamo?.destroy();
  sfn?.destroy();
}, 60_000);

async function broadcast(message: unknown, name: string) {
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name, input: JSON.stringify({ message }) }),
  );
  return executionArn!;
}

const rowsOf = () => connectionRows(dynamo, stack);

const reportAfterDrain = (executionArn: string) => drainedReport({ stack, swarm, sfn }, executionArn);

test('every connected client has one row, in the partition its id hashes to', async () => {
  const { rows, misplaced } = await rowsOf();
  expect([...rows.values()].reduce((a, b) => a + b, 0)).toBe(CLIENTS);
  expect(misplaced).toEqual([]);
  expect(rows.size).toBeGreaterThan(PARTITIONS / 2);
});

test('sockets closed by their clients run $disconnect: their rows are deleted by key', async () => {
  const before = await rowsOf();
  const sockets = await Promise.all(
    Array.from(
      { length: 10 },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(stack.webSocketUrl);
          socket.once('open', () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  const total = (counts: Map<number, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
  const opened = await rowsOf();
  expect(total(opened.rows)).toBe(CLIENTS + 10);

  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise((resolve) => {
          socket.once('close', resolve);
          socket.close();
        }),
    ),
  );
  await waitUntil(async () => total((await rowsOf()).rows) === CLIENTS);

  const after = await rowsOf();
  expect(after.rows).toEqual(before.rows);
}, 30_000);

test('a broadcast reaches every client exactly once, and its history shows the map run', async () => {
  await swarm.watch('first-broadcast');
  const executionArn = await broadcast({ text: 'first-broadcast' }, 'first');

  await swarm.waitForAll(60_000);
  const report = await reportAfterDrain(executionArn);
  const execution = await waitForExecution(sfn, executionArn, Date.now() + 60_000);

  expect(report).toMatchObject({ open: CLIENTS, received: CLIENTS, duplicates: 0 });
  expect(execution.status).toBe('SUCCEEDED');
  expect(JSON.parse(execution.output!)).toMatchObject({
    broadcastId: 'first',
    partitions: PARTITIONS,
    connections: CLIENTS,
    delivered: CLIENTS,
    gone: 0,
    failed: 0,
  });

  const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  const types = events.map((e) => e.type);
  expect(types).toEqual(
    expect.arrayContaining(['ExecutionStarted', 'MapRunStarted', 'MapRunSucceeded', 'ExecutionSucceeded']),
  );
  expect(types.indexOf('MapRunStarted')).toBeLessThan(types.indexOf('MapRunSucceeded'));
  const progressReads = events.filter(
    (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'ReadProgress',
  );
  expect(progressReads.length).toBeGreaterThan(0);

  const { mapRuns = [] } = await sfn.send(new ListMapRunsCommand({ executionArn }));
  expect(mapRuns).toHaveLength(1);
  const mapRun = await sfn.send(new DescribeMapRunCommand({ mapRunArn: mapRuns[0].mapRunArn }));
  expect(mapRun.status).toBe('SUCCEEDED');
  expect(mapRun.itemCounts).toMatchObject({
    total: PARTITIONS,
    succeeded: PARTITIONS,
    failed: 0,
    pending: 0,
    running: 0,
  });
});

test('connections that vanished without $disconnect are swept (410) and their rows removed', async () => {
  // API Gateway's $disconnect is best effort: plant rows for sockets that no longer exist,
  // where $connect would have put them.
  const vanished = Array.from({ length: 12 }, (_, i) => `VanishedConn${String(i).padStart(2, '0')}=`).map(
    (connectionId) => ({ connectionId, partition: partitionOf(connectionId, PARTITIONS) }),
  );
  const expiresAt = Math.floor(Date.now() / 1000) + 3_600;
  for (const { connectionId, partition } of vanished) {
    await dynamo.send(
      new PutCommand({
        TableName: stack.tableNames.Connections,
        Item: { partition, connectionId, connectedAt: Date.now(), expiresAt },
      }),
    );
  }

  await swarm.watch('second-broadcast');
  const executionArn = await broadcast('second-broadcast', 'second');
  await swarm.waitForAll(60_000);
  const report = await reportAfterDrain(executionArn);
  const execution = await waitForExecution(sfn, executionArn, Date.now() + 60_000);

  expect(report).toMatchObject({ received: CLIENTS, duplicates: 0 });
  expect(JSON.parse(execution.output!)).toMatchObject({
    connections: CLIENTS + vanished.length,
    delivered: CLIENTS,
    gone: vanished.length,
    failed: 0,
  });
  for (const { connectionId, partition } of vanished) {
    const { Item } = await dynamo.send(
      new GetCommand({ TableName: stack.tableNames.Connections, Key: { partition, connectionId } }),
    );
    expect(Item).toBeUndefined();
  }
  const { rows } = await rowsOf();
  expect([...rows.values()].reduce((a, b) => a + b, 0)).toBe(CLIENTS);
});

test('a partition whose Query fails past the tolerance fails the execution; RedriveExecution then delivers to just the missed clients', async () => {
  failingPartition = 5;
  await swarm.watch('third-broadcast');
  const executionArn = await broadcast('third-broadcast', 'third');
  const failed = await waitForExecution(sfn, executionArn, Date.now() + 60_000);
  expect(failed.status).toBe('FAILED');
  expect(failed.error).toBe('States.ExceedToleratedFailureThreshold');

  // Children already running when the map failed still finish; wait until everything the
  // map enqueued is delivered. The failed partition's clients got nothing.
  const enqueuedSoFar = async () => ({ enqueued: await enqueuedCounts(dynamo, stack.tableNames.Broadcasts, 'third') });
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  await waitUntil(
    async () =>
      (await stack.consumers.idle()) && (await swarm.report()).received === sum((await enqueuedSoFar()).enqueued),
  );
  const record = await enqueuedSoFar();
  expect(record.enqueued.p5).toBeUndefined();
  const { rows } = await rowsOf();
  const missed = [...rows]
    .filter(([partition]) => record.enqueued[`p${partition}`] === undefined)
    .reduce((total, [, n]) => total + n, 0);
  expect(missed).toBeGreaterThanOrEqual(rows.get(5)!);
  expect(sum(record.enqueued) + missed).toBe(CLIENTS);
  const before = await swarm.report();
  expect(before).toMatchObject({ received: CLIENTS - missed, duplicates: 0 });

  // The cause is fixed; redrive re-runs only the failed children of the map.
  failingPartition = undefined;
  await sfn.send(new RedriveExecutionCommand({ executionArn }));
  const redriven = await waitForExecution(sfn, executionArn, Date.now() + 60_000);
  await swarm.waitForAll(60_000);
  const after = await reportAfterDrain(executionArn);

  expect(redriven.status).toBe('SUCCEEDED');
  expect(redriven.redriveCount).toBe(1);
  expect(after).toMatchObject({ received: CLIENTS, duplicates: 0 });
  expect(JSON.parse(redriven.output!)).toMatchObject({
    connections: CLIENTS,
    delivered: CLIENTS,
    failedPartitions: [],
  });
});

test('bad StartExecution input is rejected with a clear error and starts nothing', async () => {
  const executionsBefore = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn })))
    .executions!.length;

  await expect(
    sfn.send(new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, input: '{"message": ' })),
  ).rejects.toBeInstanceOf(InvalidExecutionInput);
  expect(
    (await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn }))).executions!.length,
  ).toBe(executionsBefore);

  // Well-formed JSON that is not a broadcast fails in Prepare, before any partition is visited.
  await swarm.watch('never-sent');
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stack.stateMachineArn,
      name: 'typo',
      input: JSON.stringify({ mesage: 'never-sent' }),
    }),
  );
  const execution = await waitForExecution(sfn, executionArn!, Date.now() + 30_000);
  expect(execution.status).toBe('FAILED');
  expect(execution.error).toBe('InvalidBroadcastError');
  expect(execution.cause).toContain('unknown field(s) \\"mesage\\"');
  expect((await sfn.send(new ListMapRunsCommand({ executionArn }))).mapRuns).toEqual([]);
  const { Items } = await dynamo.send(
    new QueryCommand({
      TableName: stack.tableNames.Broadcasts,
      KeyConditionExpression: 'broadcastId = :id',
      ExpressionAttributeValues: { ':id': 'typo' },
    }),
  );
  expect(Items).toEqual([]);
  expect((await swarm.report()).received).toBe(0);

  await expect(sfn.send(new DescribeExecutionCommand({ executionArn: `${executionArn}-nope` }))).rejects.toMatchObject({
    name: 'ExecutionDoesNotExist',
  });
});

test('a 128 KB message of multibyte characters arrives whole, byte for byte, at every client, once', async () => {
  const marker = 'multibyte-128k:';
  // 4-, 3- and 2-byte UTF-8 characters up to exactly the 128 KB a WebSocket message may carry.
  let message = marker;
  while (Buffer.byteLength(message) + 9 <= 128 * 1024) message += '😀✓é';
  while (Buffer.byteLength(message) < 128 * 1024) message += 'x';
  expect(Buffer.byteLength(message)).toBe(128 * 1024);
  const readers = await Promise.all(
    Array.from(
      { length: 3 },
      () =>
        new Promise<{ socket: WebSocket; received: string[] }>((resolve, reject) => {
          const socket = new WebSocket(stack.webSocketUrl);
          const received: string[] = [];
          socket.on('message', (data) => received.push(data.toString('utf8')));
          socket.once('open', () => resolve({ socket, received }));
          socket.once('error', reject);
        }),
    ),
  );
  await waitUntil(
    async () => [...(await rowsOf()).rows.values()].reduce((a, b) => a + b, 0) === CLIENTS + readers.length,
  );
  await swarm.watch(marker);

  const executionArn = await broadcast(message, 'multibyte');
  await swarm.waitForAll(60_000);
  const report = await reportAfterDrain(executionArn);
  const execution = await waitForExecution(sfn, executionArn, Date.now() + 60_000);

  expect(execution.status).toBe('SUCCEEDED');
  expect(report).toMatchObject({ received: CLIENTS, duplicates: 0 });
  for (const { received } of readers) expect(received).toEqual([message]);
  await Promise.all(
    readers.map(
      ({ socket }) =>
        new Promise((resolve) => {
          socket.once('close', resolve);
          socket.close();
        }),
    ),
  );
  await waitUntil(async () => [...(await rowsOf()).rows.values()].reduce((a, b) => a + b, 0) === CLIENTS);
});

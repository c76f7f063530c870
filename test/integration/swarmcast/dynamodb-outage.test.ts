/**
 * DynamoDB stops answering the handlers (HTTP 500 on every request, through the fault proxy)
 * just after the fan-out's first partition went out (issue 9, item 2): the broadcast must ride
 * the outage out and end SUCCEEDED, every client getting the message exactly once, the counts
 * exact — and a replay of it afterwards must send nothing.
 */
import { DescribeExecutionCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ClientSwarm } from '../../../local/clients/swarm';
import { localSfnClient, waitForExecution } from '../../../local/demo';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { waitUntil } from '../helpers/broadcasts';
import { enqueuedCounts, localDynamo } from '../../../local/inspection';

const CLIENTS = 200;
const PARTITIONS = 16;
const OUTAGE_MS = 6_000;

/** When DynamoDB stopped answering (0: not yet); it answers again OUTAGE_MS later. */
let outageStartedAt = 0;
let armed = false;
let refusedRequests = 0;

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
      shards: 2,
      connectionIdsPerMessage: 5,
    },
    progressPollMs: 50,
    dynamoDbFaults: (operation, input) => {
      const item = (input.Key as Record<string, { S?: string }> | undefined)?.item?.S ?? '';
      // The first enqueued-count write: that partition's tasks are already on the queues.
      if (armed && outageStartedAt === 0 && operation === 'UpdateItem' && item.startsWith('count#enqueued#'))
        outageStartedAt = Date.now();
      if (outageStartedAt === 0 || Date.now() > outageStartedAt + OUTAGE_MS) return undefined;
      refusedRequests++;
      return { statusCode: 500, errorType: 'InternalServerError', message: 'injected: DynamoDB is unavailable' };
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

async function run(input: unknown, name: string) {
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name, input: JSON.stringify(input) }),
  );
  return waitForExecution(sfn, executionArn!, Date.now() + 170_000);
}

test('an outage after the first partition went out: SUCCEEDED, every client once, counts exact; a replay then sends nothing', async () => {
  await swarm.watch('through-the-outage');
  armed = true;

  const execution = await run({ message: { text: 'through-the-outage' } }, 'outage');
  await waitUntil(() => stack.consumers.idle());
  const report = await swarm.report();

  expect(outageStartedAt).toBeGreaterThan(0);
  expect(refusedRequests).toBeGreaterThan(0);
  expect(report).toMatchObject({ open: CLIENTS, received: CLIENTS, duplicates: 0 });
  expect({ status: execution.status, error: execution.error, cause: execution.cause }).toEqual({ status: 'SUCCEEDED' });
  expect(JSON.parse(execution.output!)).toMatchObject({
    partitions: PARTITIONS,
    failedPartitions: [],
    connections: CLIENTS,
    delivered: CLIENTS,
    gone: 0,
    failed: 0,
  });
  expect(
    Object.values(await enqueuedCounts(dynamo, stack.tableNames.Broadcasts, 'outage')).reduce((a, b) => a + b, 0),
  ).toBe(CLIENTS);

  // Every partition is recorded as enqueued: a replay of all of them is a no-op, never a second copy.
  const replay = await run(
    { broadcastId: 'outage', partitions: Array.from({ length: PARTITIONS }, (_, p) => p) },
    'outage-replay',
  );
  await waitUntil(() => stack.consumers.idle());
  expect(replay.status).toBe('SUCCEEDED');
  expect(await swarm.report()).toMatchObject({ received: CLIENTS, duplicates: 0 });
  expect((await sfn.send(new DescribeExecutionCommand({ executionArn: replay.executionArn }))).status).toBe(
    'SUCCEEDED',
  );
}, 240_000);

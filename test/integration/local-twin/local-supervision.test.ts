/**
 * A local service that dies is reported, not left to fail every request silently. One whose
 * state lives only in its own process (local-aws-sqs, dynalite in memory) stops the stack with
 * one line saying which service ended, how, and what was lost; dynalite with its tables on disk
 * is restarted in place and the stack runs on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { localSfnClient } from '../../../local/demo';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { waitUntil } from '../helpers/broadcasts';
import { localDynamo } from '../../../local/inspection';

let stack: LocalStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
}, 60_000);

test.each([
  [
    'SQS',
    (s: LocalStack) => s.sqs.pid,
    "SQS (local-aws-sqs) exited with SIGKILL; the delivery tasks it held were in memory and are lost, and the broadcasts' executions end with the stack, so none can be replayed: start it again and send again what did not arrive (clients that had it get it twice unless they drop repeats by broadcast id: broadcastIdEnvelope)",
  ],
  [
    'DynamoDB',
    (s: LocalStack) => s.dynamoDb.pid,
    'DynamoDB (dynalite) exited with SIGKILL; its tables were in memory and are lost, so the stack stops: start it again',
  ],
])(
  '%s killed: the stack says so in one line',
  async (_service, pidOf, expected) => {
    stack = await startLocalStack({ config: { partitions: 4, shards: 1 } });
    process.kill(pidOf(stack), 'SIGKILL');

    await expect(stack.failed).resolves.toBe(expected);
  },
  120_000,
);

test('DynamoDB killed with its tables on disk: restarted on the same endpoint, its rows kept, and a broadcast still runs', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'swarmcast-supervision-'));
  try {
    stack = await startLocalStack({ dataDir, config: { partitions: 4, shards: 1 } });
    const dynamo = localDynamo(stack);
    const table = stack.tableNames.Connections;
    await dynamo.send(
      new PutCommand({ TableName: table, Item: { partition: 3, connectionId: 'kept=', expiresAt: 2e9 } }),
    );
    const firstPid = stack.dynamoDb.pid;

    process.kill(firstPid, 'SIGKILL');

    await waitUntil(() => stack!.dynamoDb.pid !== firstPid, 60_000);
    await waitUntil(
      async () =>
        (
          await dynamo
            .send(new GetCommand({ TableName: table, Key: { partition: 3, connectionId: 'kept=' } }))
            .catch(() => undefined)
        )?.Item?.expiresAt === 2e9,
      60_000,
    );
    const sfn = localSfnClient(stack);
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachineArn,
        name: `after-restart-${Date.now()}`,
        input: JSON.stringify({ message: { text: 'still here' } }),
      }),
    );
    await waitUntil(
      async () => (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status !== 'RUNNING',
      60_000,
    );
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('SUCCEEDED');
    await expect(Promise.race([stack.failed, 'still running'])).resolves.toBe('still running');
    dynamo.destroy();
  } finally {
    await stack?.stop();
    stack = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 180_000);

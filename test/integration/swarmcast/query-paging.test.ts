/**
 * A partition larger than one Query page (DynamoDB stops a page at 1 MB) is read whole: 24,000
 * virtual connections in one partition, which the local DynamoDB answers in more than one page,
 * each get the broadcast exactly once through the real state machine, handlers and queues.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { connectionsTable } from '../../../functions/commons/tables';
import { localSfnClient, waitForExecution } from '../../../local/demo';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { seedVirtualConnections } from '../../../local/virtual-rows';
import { waitUntil } from '../helpers/broadcasts';
import { localDynamo } from '../../../local/inspection';

const CONNECTIONS = 24_000;

let stack: LocalStack;
let sfn: SFNClient;

beforeAll(async () => {
  stack = await startLocalStack({
    config: { partitions: 1, shards: 2 },
    virtualConnections: CONNECTIONS,
    connectRate: 'off',
    progressPollMs: 200,
  });
  sfn = localSfnClient(stack);
  await seedVirtualConnections(stack, CONNECTIONS, () => 0);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  sfn?.destroy();
}, 60_000);

test('a partition over one 1 MB Query page: every connection gets the message exactly once', async () => {
  const dynamo = localDynamo(stack);
  const firstPage = await dynamo.send(
    new QueryCommand({
      TableName: stack.tableNames.Connections,
      KeyConditionExpression: '#p = :partition',
      ExpressionAttributeNames: { '#p': connectionsTable.partitionKey.name },
      ExpressionAttributeValues: { ':partition': 0 },
      Select: 'COUNT',
    }),
  );
  dynamo.destroy();
  // The premise: one page does not hold the partition.
  expect(firstPage.LastEvaluatedKey).toBeDefined();
  expect(firstPage.Count).toBeLessThan(CONNECTIONS);

  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stack.stateMachineArn,
      name: 'paged',
      input: JSON.stringify({ message: { text: 'paged' } }),
    }),
  );
  const execution = await waitForExecution(sfn, executionArn!, Date.now() + 540_000);
  // Counted once the shard queues have drained, so a redelivered task shows up as a duplicate.
  await waitUntil(() => stack.consumers.idle());
  const deliveries = await stack.gateway.virtualDeliveries();

  expect(execution.status).toBe('SUCCEEDED');
  expect(JSON.parse(execution.output!)).toMatchObject({ connections: CONNECTIONS, delivered: CONNECTIONS, failed: 0 });
  expect(deliveries).toMatchObject({ connections: CONNECTIONS, delivered: CONNECTIONS, duplicates: 0 });
}, 600_000);

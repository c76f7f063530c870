/**
 * A broadcast under an emulated API Gateway account quota (issue 7.6): 2,000 real WebSocket
 * clients, the gateway throttling @connections calls at 200/s (burst 100), the delivery budget
 * at the same share of that quota as the default config takes of AWS's 10,000/s. Every socket
 * gets the message exactly once and nothing is counted failed: a 429 is backpressure.
 */
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { AWS_LIMITS } from '../../../functions/commons/aws-limits';
import { defaultConfig } from '../../../infra/config';
import { ClientSwarm } from '../../../local/clients/swarm';
import { localSfnClient, waitForExecution } from '../../../local/demo';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { reportAfterDrain } from '../helpers/broadcasts';

const CLIENTS = 2_000;
const QUOTA = { ratePerSecond: 200, burst: 100 };
/** The default budget's share of AWS's account quota (9,000 of 10,000), applied to the emulated one. */
const BUDGET_SHARE = defaultConfig.deliveryRatePerSecond / AWS_LIMITS.apiGatewayAccountRatePerSecond.value;
const DELIVERY_RATE = Math.floor(QUOTA.ratePerSecond * BUDGET_SHARE);

let stack: LocalStack;
let swarm: ClientSwarm;
let sfn: SFNClient;

beforeAll(async () => {
  stack = await startLocalStack({
    config: { deliveryRatePerSecond: DELIVERY_RATE, partitions: 40, shards: 3, toleratedFailurePercentage: 0 },
    quota: QUOTA,
    connectRate: 'off',
    progressPollMs: 100,
  });
  sfn = localSfnClient(stack);
  // Handshakes draw on the same account quota: 2,000 at 200/s take ~10 s, retried by the swarm.
  swarm = await ClientSwarm.connect(stack.webSocketUrl, CLIENTS);
}, 300_000);

afterAll(async () => {
  await swarm?.close().catch(() => {});
  await swarm?.stop();
  await stack?.stop();
  sfn?.destroy();
}, 60_000);

test('2,000 sockets under a 200/s quota each get the message exactly once, none failed', async () => {
  expect(DELIVERY_RATE).toBeLessThan(QUOTA.ratePerSecond);
  await swarm.watch('under-quota');
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stack.stateMachineArn,
      name: 'under-quota',
      input: JSON.stringify({ message: { text: 'under-quota' } }),
    }),
  );

  await swarm.waitForAll(240_000);
  // Counted only once the execution has ended and every shard queue has drained: a redelivered
  // task would show up as a duplicate.
  const report = await reportAfterDrain({ stack, swarm, sfn }, executionArn);
  const execution = await waitForExecution(sfn, executionArn!, Date.now() + 30_000);

  expect(report).toMatchObject({ open: CLIENTS, received: CLIENTS, duplicates: 0 });
  expect(execution.status).toBe('SUCCEEDED');
  expect(JSON.parse(execution.output!)).toMatchObject({ connections: CLIENTS, delivered: CLIENTS, gone: 0, failed: 0 });
}, 360_000);

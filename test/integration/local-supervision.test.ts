/**
 * A local service that dies is reported, not left to fail every request silently: dynalite and
 * local-aws-sqs keep their state in their own process, so the stack stops with one line saying
 * which service ended, how, and what was lost.
 */
import { startLocalStack, type LocalStack } from '../../local/stack';

let stack: LocalStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
}, 60_000);

test.each([
  ['SQS', (s: LocalStack) => s.sqs.pid, 'SQS (local-aws-sqs) exited with SIGKILL; the delivery tasks it held were in memory and are lost, so the stack stops: start it again and replay what did not arrive'],
  ['DynamoDB', (s: LocalStack) => s.dynamoDb.pid, 'DynamoDB (dynalite) exited with SIGKILL; its tables were in memory and are lost, so the stack stops: start it again'],
])('%s killed: the stack says so in one line', async (_service, pidOf, expected) => {
  stack = await startLocalStack({ config: { partitions: 4, shards: 1 } });
  process.kill(pidOf(stack), 'SIGKILL');

  await expect(stack.failed).resolves.toBe(expected);
}, 120_000);

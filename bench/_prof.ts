import { GetExecutionHistoryCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ClientSwarm } from '/work/main/local/clients/swarm';
import { startLocalStack } from '/work/main/local/stack';
import { localSfnClient, waitForExecution } from '/work/main/local/demo';

async function main() {
  const clients = Number(process.argv[2] ?? 2000);
  const partitions = Number(process.argv[3] ?? 2500);
  const stack = await startLocalStack({ config: { partitions } });
  let t = Date.now();
  const swarm = await ClientSwarm.connect(stack.webSocketUrl, clients);
  console.log('connect ms', Date.now() - t);
  await swarm.watch('hello');
  const sfn = localSfnClient(stack);
  t = Date.now();
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, input: JSON.stringify({ message: 'hello' }) }));
  const r = await swarm.waitForAll(120000);
  console.log('all received ms', Date.now() - t, r.received);
  const e = await waitForExecution(sfn, executionArn!, Date.now() + 60000);
  console.log('exec done ms', Date.now() - t, e.status, e.output);
  const h = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  for (const ev of h.events!) if (/Map|Execution|StateEntered/.test(ev.type!)) console.log(ev.type, (ev.timestamp!.getTime() - t), JSON.stringify(ev.stateEnteredEventDetails?.name ?? ''));
  console.log(stack.consumers.stats());
  await swarm.close(); await swarm.stop(); await stack.stop();
}
main();

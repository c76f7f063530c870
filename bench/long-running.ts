/**
 * What a long-running local stack holds: K broadcasts in a row to the same clients, then the
 * resident memory of the main process (the state machine runner) and of each child process
 * (dynalite, local-aws-sqs, gateway workers, function instances), read from /proc. Also the
 * executions the local Step Functions keep (bounded by --keep-executions) and the items left
 * in the Broadcasts table.
 *
 *   npx tsx bench/long-running.ts [broadcasts=20] [clients=200] [keepExecutions=1000]
 *
 * The shared machine: keep K and the clients small.
 */
import { readFile } from 'node:fs/promises';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ClientSwarm } from '../local/clients/swarm';
import { localSfnClient, waitForExecution } from '../local/demo';
import { LOCAL_CREDENTIALS } from '../lib/local-account';
import { startLocalStack } from '../local/stack';

const broadcasts = Number(process.argv[2] ?? 20);
const clients = Number(process.argv[3] ?? 200);
const keepFinishedExecutions = Number(process.argv[4] ?? 1_000);

/** pid → resident memory in MB and a short name, for this process and every descendant. */
async function residentMemory(): Promise<{ pid: number; name: string; rssMb: number }[]> {
  const found: { pid: number; name: string; rssMb: number }[] = [];
  const visit = async (pid: number): Promise<void> => {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    const entry = cmdline.find((arg) => /\.(ts|js|cjs|mjs)$/.test(arg) && !arg.includes('loader')) ?? cmdline[0] ?? '?';
    const module = cmdline.find((arg) => arg.startsWith('file://') && arg.includes('/functions/'));
    found.push({
      pid,
      name: `${entry.split('/').slice(-2).join('/')}${module ? ` ${module.split('/').at(-1)}` : ''}`,
      rssMb: rssKb / 1024,
    });
    const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => ''))
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    for (const child of children) await visit(child);
  };
  await visit(process.pid);
  return found;
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ keepFinishedExecutions });
  const swarm = await ClientSwarm.connect(stack.webSocketUrl, clients);
  const sfn = localSfnClient(stack);
  const dynamo = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.dynamoDbEndpoint, region: stack.region, credentials: LOCAL_CREDENTIALS }),
  );
  try {
    const before = await residentMemory();
    const started = performance.now();
    for (let n = 1; n <= broadcasts; n++) {
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: stack.stateMachineArn,
          name: `long-${n}`,
          input: JSON.stringify({ message: `broadcast ${n}` }),
        }),
      );
      const execution = await waitForExecution(sfn, executionArn!, Date.now() + 120_000);
      if (execution.status !== 'SUCCEEDED')
        throw new Error(`broadcast ${n} ended ${execution.status} (${execution.error}: ${execution.cause})`);
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await residentMemory();
    let items = 0;
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(
        new ScanCommand({ TableName: stack.tableNames.Broadcasts, Select: 'COUNT', ExclusiveStartKey }),
      );
      items += page.Count ?? 0;
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);

    console.log(
      `${broadcasts} broadcasts to ${clients} clients in ${seconds.toFixed(1)} s; executions kept in memory: ${stack.stepFunctions.executionCount()} (top-level at most ${keepFinishedExecutions}); Broadcasts table items: ${items}`,
    );
    console.log('RSS per process, MB (before → after):');
    for (const process of after) {
      const was = before.find((entry) => entry.pid === process.pid);
      console.log(
        `  ${String(process.pid).padStart(7)}  ${(was ? was.rssMb.toFixed(0) : '-').padStart(5)} → ${process.rssMb.toFixed(0).padStart(5)}  ${process.name}`,
      );
    }
  } finally {
    dynamo.destroy();
    sfn.destroy();
    await swarm.close().catch(() => undefined);
    await swarm.stop();
    await stack.stop();
  }
}

void main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

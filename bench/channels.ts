/**
 * Channel broadcasts against a full one on the local stack (docs/channels.md): N clients, 1 % of
 * them in channel `small` (and `all`), every one in `all`. For a broadcast to `small`, to `all` and
 * to every socket: the clients reached, time to last delivery (from StartExecution to the last
 * first arrival), @connections calls, and the map's items (partitions visited). One run each, after
 * one unmeasured broadcast to `small` that starts the local functions' instances (a cold start
 * would otherwise land on whichever case runs first).
 *
 *   npx tsx bench/channels.ts [clients=2000]
 */
import { randomUUID } from 'node:crypto';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ClientSwarm } from '../local/clients/swarm';
import { localSfnClient, waitForExecution } from '../local/demo';
import { startLocalStack, type LocalStack } from '../local/stack';

const clients = Number(process.argv[2] ?? 2_000);
const SMALL_SHARE = 0.01;
/** One gateway worker holds this many sockets comfortably here (local/demo.ts uses the same). */
const SOCKETS_PER_GATEWAY = 12_000;

interface Case {
  name: string;
  channel?: string;
  reached: number;
  expected: number;
  lastDeliveryMs: number;
  calls: number;
  mapItems: number;
}

async function callsSoFar(stack: LocalStack): Promise<number> {
  const { workers } = await stack.gateway.stats();
  return workers.reduce((sum, w) => sum + w.posts + w.gone + w.limitExceeded + w.throttled, 0);
}

async function runCase(
  stack: LocalStack,
  swarms: { small: ClientSwarm; rest: ClientSwarm },
  name: string,
  channel: string | undefined,
  expected: number,
): Promise<Case> {
  const sfn = localSfnClient(stack);
  const marker = randomUUID();
  await Promise.all([swarms.small.watch(marker), swarms.rest.watch(marker)]);
  const callsBefore = await callsSoFar(stack);
  const startedAt = Date.now();
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stack.stateMachineArn,
      name: `bench-${name}-${Date.now()}`,
      input: JSON.stringify({ message: marker, ...(channel && { channel }) }),
    }),
  );
  const execution = await waitForExecution(sfn, executionArn!, startedAt + 10 * 60_000);
  while (!(await stack.consumers.idle())) await new Promise((resolve) => setTimeout(resolve, 50));
  const reports = await Promise.all([swarms.small.report(), swarms.rest.report()]);
  const arrivals = reports.flatMap((report) => report.firstArrivals);
  const summary = JSON.parse(execution.output ?? '{}') as { partitions?: number };
  sfn.destroy();
  return {
    name,
    channel,
    reached: reports.reduce((sum, report) => sum + report.received, 0),
    expected,
    lastDeliveryMs: arrivals.length > 0 ? Math.max(...arrivals) - startedAt : Number.NaN,
    calls: (await callsSoFar(stack)) - callsBefore,
    mapItems: summary.partitions ?? Number.NaN,
  };
}

async function main(): Promise<void> {
  console.log(`npx tsx bench/channels.ts ${clients}`);
  const smallCount = Math.max(1, Math.round(clients * SMALL_SHARE));
  const stack = await startLocalStack({ gatewayWorkers: Math.max(1, Math.ceil(clients / SOCKETS_PER_GATEWAY)) });
  let swarms: { small: ClientSwarm; rest: ClientSwarm } | undefined;
  try {
    swarms = {
      small: await ClientSwarm.connect(`${stack.webSocketUrl}?channels=small,all`, smallCount),
      rest: await ClientSwarm.connect(`${stack.webSocketUrl}?channels=all`, clients - smallCount),
    };
    await runCase(stack, swarms, 'warm-up', 'small', smallCount);
    const cases = [
      await runCase(stack, swarms, 'small', 'small', smallCount),
      await runCase(stack, swarms, 'all', 'all', clients),
      await runCase(stack, swarms, 'full', undefined, clients),
    ];
    const full = cases[2];
    for (const c of cases) {
      console.log(
        `${c.name.padEnd(5)} ${c.channel ? `channel ${c.channel}` : 'every socket'}: ${c.reached}/${c.expected} reached, last delivery ${c.lastDeliveryMs} ms, ${c.calls} @connections calls (${((c.calls * 100) / full.calls).toFixed(1)} % of the full broadcast's), ${c.mapItems} map items`,
      );
    }
  } finally {
    await swarms?.small.close().catch(() => undefined);
    await swarms?.rest.close().catch(() => undefined);
    await swarms?.small.stop();
    await swarms?.rest.stop();
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

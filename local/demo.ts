/**
 * The demo behind `swarmcast demo` and `npm start`: one broadcast on the local stack to real
 * clients, measured end to end.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import {
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import type { SwarmcastConfig } from '../infra/config';
import { ClientSwarm, type ConnectProgress, type SwarmReport } from './clients/swarm';
import type { GatewayStats, Throttle } from './gateway';
import { formatThrottle } from './gateway/throttles';
import { readDemoStages, type DemoStages } from './demo-stages';
import { LOCAL_CREDENTIALS } from '../lib/local-account';
import { startLocalStack, type LocalStack } from './stack';

/**
 * How long the demo waits for delivery by default: 5 minutes, plus 30 ms per client (100,000
 * clients: 55 minutes), since a 2-core machine at load average 30 delivered ~36 per second.
 */
const deliveryTimeoutMs = (clients: number) => 5 * 60_000 + 30 * clients;

/** Sockets per gateway process: well under the ~20,000 open files one process may hold. */
const SOCKETS_PER_GATEWAY = 12_000;

export interface DemoOptions {
  clients: number;
  config?: Partial<SwarmcastConfig>;
  /** The gateway's account throttle and new-connection rate (default AWS's: 10,000/5,000 and 500/s). */
  quota?: Throttle;
  connectRate?: Throttle;
  /** Give up waiting for delivery after this long (default 5 min + 30 ms per client). */
  timeoutMs?: number;
  onPhase?: (phase: string) => void;
  onProgress?: (received: number, clients: number) => void;
  /** About once a second while the clients connect. */
  onConnectProgress?: (progress: ConnectProgress) => void;
}

export interface DemoSummary {
  clients: number;
  /** Connections the broadcast enqueued (its execution's summary). */
  connections: number;
  partitions: number;
  delivered: number;
  gone: number;
  failed: number;
  /** Clients that received the message (once or more). */
  received: number;
  /** Extra copies received beyond the first, over all clients. */
  duplicates: number;
  /** From StartExecution to the last client's arrival. */
  durationMs: number;
  p50Ms: number;
  p99Ms: number;
  connectMs: number;
  /** Handshakes refused (429 over the connect rate) and tried again by the clients. */
  connectRetries: number;
  /** RSS of the gateway's worker processes once every client is connected, and that over the sockets. */
  gatewayRssBytes: number;
  gatewayBytesPerSocket: number;
  /** @connections calls the gateway answered 429 over the account throttle. */
  throttled: number;
  quota: string;
  connectRate: string;
  executionStatus: string;
  executionArn: string;
  broadcastId: string;
  /** Where the time went, from the execution history, the count items and the clients. */
  stages: DemoStages;
  /** Every live client got the message exactly once and the execution succeeded. */
  ok: boolean;
}

function percentile(sortedValues: readonly number[], p: number): number {
  if (sortedValues.length === 0) return 0;
  return sortedValues[Math.min(sortedValues.length - 1, Math.max(0, Math.ceil((p / 100) * sortedValues.length) - 1))];
}

/**
 * The README's main job: start the local stack, connect real WebSocket clients, run one
 * broadcast through the state machine, and measure what every client received.
 */
export async function runDemo({
  clients,
  config,
  quota,
  connectRate,
  timeoutMs = deliveryTimeoutMs(clients),
  onPhase = () => {},
  onProgress,
  onConnectProgress,
}: DemoOptions): Promise<DemoSummary> {
  onPhase('starting the local stack');
  const stack = await startLocalStack({
    config,
    quota,
    connectRate,
    gatewayWorkers: Math.max(1, Math.ceil(clients / SOCKETS_PER_GATEWAY)),
  });
  let swarm: ClientSwarm | undefined;
  try {
    onPhase(`connecting ${clients.toLocaleString('en-US')} WebSocket clients`);
    const connectStart = Date.now();
    swarm = await ClientSwarm.connect(stack.webSocketUrl, clients, { onProgress: onConnectProgress });
    const connectMs = Date.now() - connectStart;
    const connected = await stack.gateway.stats();

    const marker = randomUUID();
    await swarm.watch(marker);
    onPhase('broadcasting');
    const sfn = localSfnClient(stack);
    const broadcastId = `demo-${Date.now()}`;
    const startedAt = Date.now();
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachineArn,
        name: broadcastId,
        input: JSON.stringify({ message: { type: 'swarmcast-demo', marker, text: 'Hello from swarmcast' } }),
      }),
    );
    const [, execution] = await Promise.all([
      swarm.waitForAll(timeoutMs, (r) => onProgress?.(r.received, r.open)),
      waitForExecution(sfn, executionArn!, startedAt + timeoutMs),
    ]);
    // Count copies only once the queues are empty: a redelivered task would arrive after everyone has the message.
    await waitUntilIdle(stack, 10_000);
    const report = await swarm.report();
    const delivered = await stack.gateway.stats();
    const stages = await readDemoStages({
      sfn,
      dynamoDb: localDynamoDbClient(stack),
      executionArn: executionArn!,
      broadcastsTable: stack.tableNames.Broadcasts,
      broadcastId,
      arrivals: report.firstArrivals,
    });
    return summarize({
      clients,
      report,
      execution,
      startedAt,
      connect: { ms: connectMs, retries: swarm.retries, gateway: connected },
      throttled: delivered.workers.reduce((sum, w) => sum + w.throttled, 0),
      throttles: {
        quota: formatThrottle(stack.gateway.throttles.quota),
        connectRate: formatThrottle(stack.gateway.throttles.connectRate),
      },
      broadcastId,
      executionArn: executionArn!,
      stages,
    });
  } finally {
    onPhase('stopping');
    // The gateway goes first: closing every client first starts one $disconnect per socket at
    // once (20,000 sockets: 40,000 requests on dynalite, every one past the 29 s integration
    // timeout), and the rest of the stack would wait behind them. A stopping gateway runs them
    // too but is bounded: its workers are killed once their stop grace is over.
    await stack.gateway.stop();
    await swarm?.stop();
    await stack.stop();
  }
}

export function localSfnClient(stack: Pick<LocalStack, 'stepFunctionsEndpoint' | 'region'>): SFNClient {
  return new SFNClient({ endpoint: stack.stepFunctionsEndpoint, region: stack.region, credentials: LOCAL_CREDENTIALS });
}

function localDynamoDbClient(stack: LocalStack): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.dynamoDbEndpoint, region: stack.region, credentials: LOCAL_CREDENTIALS }),
  );
}

async function waitUntilIdle(stack: LocalStack, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await stack.consumers.idle()) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
}

export async function waitForExecution(
  sfn: SFNClient,
  executionArn: string,
  deadline: number,
): Promise<DescribeExecutionCommandOutput> {
  for (;;) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING' || Date.now() > deadline) return execution;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function summarize({
  clients,
  report,
  execution,
  startedAt,
  connect,
  throttled,
  throttles,
  broadcastId,
  executionArn,
  stages,
}: {
  clients: number;
  report: SwarmReport;
  execution: DescribeExecutionCommandOutput;
  startedAt: number;
  connect: { ms: number; retries: number; gateway: GatewayStats };
  throttled: number;
  throttles: { quota: string; connectRate: string };
  broadcastId: string;
  executionArn: string;
  stages: DemoStages;
}): DemoSummary {
  const output = execution.output ? JSON.parse(execution.output) : {};
  const gatewayRssBytes = connect.gateway.workers.reduce((sum, w) => sum + w.rssBytes, 0);
  const latencies = report.firstArrivals.map((t) => t - startedAt).sort((a, b) => a - b);
  return {
    clients,
    connections: output.connections ?? 0,
    partitions: output.partitions ?? 0,
    delivered: output.delivered ?? 0,
    gone: output.gone ?? 0,
    failed: output.failed ?? 0,
    received: report.received,
    duplicates: report.duplicates,
    durationMs: latencies.length ? latencies[latencies.length - 1] : 0,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    connectMs: connect.ms,
    connectRetries: connect.retries,
    gatewayRssBytes,
    gatewayBytesPerSocket:
      connect.gateway.connections > 0 ? Math.round(gatewayRssBytes / connect.gateway.connections) : 0,
    throttled,
    ...throttles,
    executionStatus: execution.status ?? 'UNKNOWN',
    executionArn,
    broadcastId,
    stages,
    ok:
      execution.status === 'SUCCEEDED' &&
      report.received === report.open &&
      report.open === clients &&
      report.duplicates === 0,
  };
}

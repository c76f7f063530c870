/**
 * A broadcast to N connections at an emulated API Gateway quota, in three modes:
 *
 *   npm run bench:quota -- --connections 100000 --quota 2000/1000 [--modes swarmcast,no-budget,naive] [--json]
 *                          [--slow-sockets 2%] [--drain-seconds 5] [--background 500]
 *
 * Each mode runs in a fresh local stack of its own (a child process: the handlers read their
 * settings once). The same N connection rows are seeded straight into its DynamoDB (no sockets;
 * in memory, faster than dynalite on disk) for ids the gateway owns as virtual connections,
 * which count each id's deliveries and are throttled like any socket; then one broadcast runs:
 *   swarmcast  the delivery budget at its default share of the quota;
 *   no-budget  the delivery settings before the budget (no rate, 64 posts in flight, 50 instances);
 *   naive      what tutorials do: one function scans the table and posts to every id with Promise.all.
 * --slow-sockets P% makes that share of the virtual connections slow readers: each answers 429 for
 * --drain-seconds after its first post (its buffer draining), then takes the message. --background R
 * makes R GetConnection calls/s of other traffic on the same account throttle for the whole run;
 * the ideal time is then what the quota minus that traffic leaves. Rows add `failedBy` (the
 * execution's failed sockets by reason), the slow sockets' 429s (`full`) and the background's calls.
 * Writes bench/results/quota-<N>-<R>.json and bench/charts/quota-deliveries.svg.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { sleep } from '#commons/helpers/concurrency';
import { AWS_LIMITS } from '../functions/commons/aws-limits';
import { defaultConfig, type SwarmcastConfig } from '../infra/config';
import { localSfnClient } from '../local/demo';
import { formatThrottle, parseQuota, ThrottleSyntaxError } from '../local/gateway/throttles';
import type { RateLimit } from '../local/gateway/token-bucket';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../lib/local-account';
import { seedVirtualConnections } from '../local/virtual-rows';
import { startLocalStack, type LocalStack } from '../local/stack';
import { deliveriesChart, writeChart, type RatePoint } from './charts';

const MODES = ['swarmcast', 'no-budget', 'naive'] as const;
type Mode = (typeof MODES)[number];

/** Gateway processes: two cores here. */
const GATEWAY_WORKERS = 2;
const SAMPLE_MS = 250;
const MAX_CONNECTIONS = 2_000_000;
/** The default budget's share of AWS's account quota (9,000 of 10,000), applied to the emulated one. */
const BUDGET_SHARE = defaultConfig.deliveryRatePerSecond / AWS_LIMITS.apiGatewayAccountRatePerSecond.value;
const UNLIMITED_RATE = 1_000_000;

export interface ModeResult {
  mode: Mode;
  connections: number;
  delivered: number;
  failed: number;
  missed: number;
  duplicates: number;
  calls: number;
  throttled: number;
  durationMs: number;
  idealMs: number;
  ratio: number;
  /** The mode's own deadline passed before it finished. */
  timedOut: boolean;
  /** The execution's failed sockets by reason. */
  failedBy: Record<string, number>;
  /** Slow-reader ids, and the posts they answered 429 while full (not in `throttled`: those are the account's). */
  slowSockets: number;
  full: number;
  /** Other traffic on the account throttle: calls made, and how many it answered 429. */
  backgroundCalls: number;
  backgroundThrottled: number;
  /** Per sample: the gateway's counts so far, and the delivery tasks on the shard queues (waiting or in flight): 0 while delivering means the fan-out starves the consumers. */
  samples: { ms: number; delivered: number; posts: number; calls: number; throttled: number; queuedTasks: number }[];
}

interface ChildArgs {
  mode: Mode;
  connections: number;
  quota: RateLimit;
  resultFile: string;
  /** Share of slow-reader ids (0 to 1) and how long each stays full after its first post. */
  slowShare: number;
  drainMs: number;
  /** Calls/s of other traffic on the account throttle. */
  background: number;
}

function modeConfig(mode: Mode, quota: RateLimit): Partial<SwarmcastConfig> {
  switch (mode) {
    case 'swarmcast':
      return { deliveryRatePerSecond: Math.floor(quota.ratePerSecond * BUDGET_SHARE) };
    case 'no-budget':
      return { deliveryRatePerSecond: UNLIMITED_RATE, postConcurrency: 64, consumerMaxConcurrency: 50 };
    case 'naive':
      return {};
  }
}

/** Each mode gets three times the ideal time plus a minute to start and drain, then it is cut off. */
function deadlineMs(connections: number, quota: RateLimit): number {
  return 3 * idealMs(connections, quota) + 60_000;
}

/** N calls at what the quota leaves beside the background traffic. */
function idealMs(connections: number, quota: RateLimit, background = 0): number {
  return Math.round((connections / (quota.ratePerSecond - background)) * 1000);
}

/** How often the background traffic sends its calls: R/50 calls every 20 ms. */
const BACKGROUND_TICK_MS = 20;

/** Other traffic on the account throttle: `perSecond` GetConnection calls/s until stopped, not awaited one by one. */
function startBackground(stack: LocalStack, perSecond: number) {
  const api = new ApiGatewayManagementApiClient({
    endpoint: stack.connectionsEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const counts = { calls: 0, throttled: 0 };
  const ConnectionId = stack.gateway.virtualConnectionId(0);
  let owed = 0;
  const timer = setInterval(() => {
    owed += (perSecond * BACKGROUND_TICK_MS) / 1000;
    for (; owed >= 1; owed--) {
      counts.calls++;
      api
        .send(new GetConnectionCommand({ ConnectionId }))
        .catch((error: { $metadata?: { httpStatusCode?: number } }) => {
          if (error.$metadata?.httpStatusCode === 429) counts.throttled++;
        });
    }
  }, BACKGROUND_TICK_MS);
  return {
    counts,
    stop: () => {
      clearInterval(timer);
      api.destroy();
    },
  };
}

function documentClient(endpoint: string): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
  );
}

/** One mode in this process: a local stack on the seeded tables, one broadcast, its counts. */
async function runMode({
  mode,
  connections,
  quota,
  resultFile,
  slowShare,
  drainMs,
  background,
}: ChildArgs): Promise<void> {
  const stack = await startLocalStack({
    config: modeConfig(mode, quota),
    quota,
    connectRate: 'off',
    virtualConnections: connections,
    slowVirtualConnections: slowShare > 0 ? { share: slowShare, fullMs: drainMs } : undefined,
    gatewayWorkers: GATEWAY_WORKERS,
  });
  const samples: ModeResult['samples'] = [];
  const seedMs = await seedVirtualConnections(stack, connections);
  console.error(
    `${mode}: seeded ${connections.toLocaleString('en-US')} connection rows in ${(seedMs / 1000).toFixed(1)} s`,
  );
  const sqs = new SQSClient({ endpoint: stack.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const queuedTasks = async () => {
    const attributes = await Promise.all(
      stack.shardQueueUrls.map((QueueUrl) =>
        sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        ),
      ),
    );
    return attributes.reduce(
      (sum, { Attributes: a = {} }) =>
        sum + Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
      0,
    );
  };
  const gatewayCounts = async () => {
    const [virtual, stats, queued] = await Promise.all([
      stack.gateway.virtualDeliveries(),
      stack.gateway.stats(),
      queuedTasks(),
    ]);
    return {
      delivered: virtual.delivered,
      posts: virtual.posts,
      calls: stats.workers.reduce((sum, w) => sum + w.calls, 0),
      throttled: stats.workers.reduce((sum, w) => sum + w.throttled, 0),
      queuedTasks: queued,
    };
  };
  const other = background > 0 ? startBackground(stack, background) : undefined;
  try {
    const before = await gatewayCounts();
    const started = Date.now();
    const deadline = started + deadlineMs(connections, quota);
    const sampler = setInterval(() => {
      void gatewayCounts().then((counts) => samples.push({ ms: Date.now() - started, ...counts }));
    }, SAMPLE_MS);
    let failed = 0;
    let failedBy: Record<string, number> = {};
    let timedOut = false;
    const backgroundBefore = { ...(other?.counts ?? { calls: 0, throttled: 0 }) };
    try {
      if (mode === 'naive') failed = await naiveBroadcast(stack, deadline);
      else ({ failed, failedBy, timedOut } = await stateMachineBroadcast(stack, mode, deadline));
    } finally {
      clearInterval(sampler);
    }
    const after = await gatewayCounts();
    const backgroundCalls = (other?.counts.calls ?? 0) - backgroundBefore.calls;
    const backgroundThrottled = (other?.counts.throttled ?? 0) - backgroundBefore.throttled;
    const final = await stack.gateway.virtualDeliveries({ reset: true });
    samples.push({ ms: Date.now() - started, ...after });
    const lastDelivery = samples.find((s) => s.delivered >= final.delivered) ?? samples[samples.length - 1];
    const ideal = idealMs(connections, quota, background);
    const result: ModeResult = {
      mode,
      connections,
      delivered: final.delivered,
      failed,
      missed: Math.max(0, connections - final.delivered - failed),
      duplicates: final.duplicates,
      // The gateway counts every call on the account throttle: the background's are taken out.
      calls: after.calls - before.calls - backgroundCalls,
      throttled: after.throttled - before.throttled - backgroundThrottled,
      durationMs: lastDelivery.ms,
      idealMs: ideal,
      ratio: Number((lastDelivery.ms / ideal).toFixed(3)),
      timedOut: timedOut || Date.now() > deadline,
      failedBy,
      slowSockets: final.slow,
      full: final.full,
      backgroundCalls,
      backgroundThrottled,
      samples,
    };
    writeFileSync(resultFile, JSON.stringify(result));
  } finally {
    other?.stop();
    sqs.destroy();
    await stack.stop();
  }
}

async function stateMachineBroadcast(
  stack: LocalStack,
  mode: Mode,
  deadline: number,
): Promise<{ failed: number; failedBy: Record<string, number>; timedOut: boolean }> {
  const sfn = localSfnClient(stack);
  try {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachineArn,
        name: `bench-${mode}-${Date.now()}`,
        input: JSON.stringify({ message: { text: 'bench' } }),
      }),
    );
    let execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    while (execution.status === 'RUNNING' && Date.now() < deadline) {
      await sleep(500);
      execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    }
    // Tasks still queued after the execution ended would be late deliveries or duplicates: wait for them.
    while (!(await stack.consumers.idle()) && Date.now() < deadline) await sleep(250);
    const output = execution.output
      ? (JSON.parse(execution.output) as { failed?: number; failedBy?: Record<string, number> })
      : {};
    return {
      failed: output.failed ?? 0,
      failedBy: output.failedBy ?? {},
      timedOut: Date.now() >= deadline || execution.status === 'RUNNING',
    };
  } finally {
    sfn.destroy();
  }
}

/**
 * The tutorial broadcast: scan the Connections table and PostToConnection every id at once
 * with the SDK's defaults (3 attempts, its own backoff). One Promise.all per Scan page (~1 MB,
 * thousands of ids), as the usual paginated-scan loop does; a failed post is counted, not retried.
 */
async function naiveBroadcast(stack: LocalStack, deadline: number): Promise<number> {
  const dynamo = documentClient(stack.dynamoDbEndpoint);
  const api = new ApiGatewayManagementApiClient({
    endpoint: stack.connectionsEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const data = Buffer.from(JSON.stringify({ text: 'bench' }));
  let failed = 0;
  try {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(new ScanCommand({ TableName: stack.tableNames.Connections, ExclusiveStartKey }));
      const results = await Promise.allSettled(
        (page.Items ?? []).map((row) =>
          api.send(new PostToConnectionCommand({ ConnectionId: row.connectionId as string, Data: data })),
        ),
      );
      failed += results.filter((r) => r.status === 'rejected').length;
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey && Date.now() < deadline);
  } finally {
    dynamo.destroy();
    api.destroy();
  }
  return failed;
}

/** Deliveries per second between consecutive samples, for the chart. */
function ratePoints(result: ModeResult): RatePoint[] {
  const points: RatePoint[] = [];
  for (let i = 1; i < result.samples.length; i++) {
    const [a, b] = [result.samples[i - 1], result.samples[i]];
    if (b.ms <= a.ms) continue;
    points.push({
      mode: result.mode,
      seconds: a.ms / 1000,
      deliveriesPerSecond: Math.round(((b.posts - a.posts) * 1000) / (b.ms - a.ms)),
    });
  }
  return points;
}

function parseOptions() {
  return parseArgs({
    options: {
      connections: { type: 'string' },
      quota: { type: 'string' },
      json: { type: 'boolean', default: false },
      modes: { type: 'string', default: MODES.join(',') },
      'slow-sockets': { type: 'string', default: '0%' },
      'drain-seconds': { type: 'string', default: '5' },
      background: { type: 'string', default: '0' },
      child: { type: 'string' },
    },
  });
}

function usage(message: string): never {
  console.error(
    `bench:quota: ${message}\nusage: npm run bench:quota -- --connections N --quota RATE[/BURST] [--modes ${MODES.join(',')}] [--slow-sockets P%] [--drain-seconds S] [--background R] [--json]   (N from 1 to ${MAX_CONNECTIONS.toLocaleString('en-US')})`,
  );
  process.exit(2);
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) usage('a broadcast at the account quota, per mode, on virtual connections');
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    ({ values } = parseOptions());
  } catch (error) {
    usage((error as Error).message.split('\n')[0]);
  }
  if (values.child) return runMode(JSON.parse(values.child) as ChildArgs);

  const connections = Number(values.connections);
  if (!Number.isInteger(connections) || connections < 1 || connections > MAX_CONNECTIONS)
    usage(`--connections must be a whole number, got "${values.connections}"`);
  if (!values.quota) usage('--quota is required');
  let quota: RateLimit;
  try {
    const parsed = parseQuota(values.quota);
    if (parsed === 'off') usage('--quota off has no ideal time to compare with: give RATE[/BURST]');
    quota = parsed;
  } catch (error) {
    if (error instanceof ThrottleSyntaxError) usage(error.message);
    throw error;
  }
  const slowMatch = /^(\d+(?:\.\d+)?)%$/.exec(values['slow-sockets']!);
  if (!slowMatch || Number(slowMatch[1]) > 100)
    usage(`--slow-sockets must be a percentage from 0% to 100%, like 2%, got "${values['slow-sockets']}"`);
  const slowShare = Number(slowMatch[1]) / 100;
  const drainSeconds = Number(values['drain-seconds']);
  if (!/^\d+$/.test(values['drain-seconds']!) || drainSeconds < 1)
    usage(`--drain-seconds must be a whole number of seconds from 1, got "${values['drain-seconds']}"`);
  const background = Number(values.background);
  if (!/^\d+$/.test(values.background!) || background >= quota.ratePerSecond)
    usage(
      `--background must be whole calls per second below the quota's rate (${quota.ratePerSecond}), got "${values.background}"`,
    );
  const modes = values.modes!.split(',').map((mode) => mode.trim());
  const unknownMode = modes.find((mode) => !(MODES as readonly string[]).includes(mode));
  if (unknownMode !== undefined) usage(`--modes: no mode named "${unknownMode}"; the modes are ${MODES.join(', ')}`);
  const log = (line: string) => (values.json ? console.error(line) : console.log(line));
  const command =
    `npm run bench:quota -- --connections ${connections} --quota ${formatThrottle(quota)}` +
    (modes.length < MODES.length ? ` --modes ${modes.join(',')}` : '') +
    (slowShare > 0 ? ` --slow-sockets ${slowMatch[1]}% --drain-seconds ${drainSeconds}` : '') +
    (background > 0 ? ` --background ${background}` : '');
  if (slowShare > 0)
    log(
      `slow sockets: ${slowMatch[1]}% of ids answer 429 for ${drainSeconds} s after their first post (their buffer drains), then take the message`,
    );
  if (background > 0)
    log(
      `background: ${background} GetConnection calls/s on the account throttle; ideal time at ${quota.ratePerSecond - background}/s`,
    );
  const resultsTmp = mkdtempSync(path.join(tmpdir(), 'swarmcast-bench-quota-'));
  const results: ModeResult[] = [];
  try {
    for (const mode of modes as Mode[]) {
      const resultFile = path.join(resultsTmp, `${mode}.json`);
      const args: ChildArgs = {
        mode,
        connections,
        quota,
        resultFile,
        slowShare,
        drainMs: drainSeconds * 1000,
        background,
      };
      execFileSync(process.execPath, ['--import', 'tsx', __filename, '--child', JSON.stringify(args)], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const result = JSON.parse(readFileSync(resultFile, 'utf8')) as ModeResult;
      results.push(result);
      const { samples, ...summary } = result;
      if (values.json) console.log(JSON.stringify(summary));
      else log(formatResult(summary));
    }
  } finally {
    rmSync(resultsTmp, { recursive: true, force: true });
  }

  const resultsDir = path.join(__dirname, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsFile = path.join(resultsDir, `quota-${connections}-${quota.ratePerSecond}.json`);
  writeFileSync(
    resultsFile,
    `${JSON.stringify({ command, measuredAt: new Date().toISOString(), quota, results }, null, 1)}\n`,
  );
  const chart = await writeChart(
    'quota-deliveries',
    deliveriesChart(
      results.flatMap(ratePoints),
      quota.ratePerSecond,
      `${connections.toLocaleString('en-US')} connections at a quota of ${formatThrottle(quota)}/s`,
    ),
  );
  log(
    `\n${command}\nresults: ${path.relative(process.cwd(), resultsFile)}, chart: ${path.relative(process.cwd(), chart)}`,
  );
}

function formatResult(r: Omit<ModeResult, 'samples'>): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return (
    `${r.mode.padEnd(10)} delivered ${n(r.delivered)}/${n(r.connections)}, failed ${n(r.failed)}, missed ${n(r.missed)}, duplicates ${n(r.duplicates)}, ` +
    `calls ${n(r.calls)}, throttled ${n(r.throttled)}, last delivery ${(r.durationMs / 1000).toFixed(1)} s (ideal ${(r.idealMs / 1000).toFixed(1)} s, ×${r.ratio})` +
    (Object.keys(r.failedBy).length > 0 ? `; failed by ${JSON.stringify(r.failedBy)}` : '') +
    (r.slowSockets > 0 ? `; ${n(r.slowSockets)} slow sockets answered 429 ${n(r.full)} times` : '') +
    (r.backgroundCalls > 0 ? `; background ${n(r.backgroundCalls)} calls, ${n(r.backgroundThrottled)} throttled` : '') +
    (r.timedOut ? ' — cut off at its deadline' : '')
  );
}

main().catch((error) => {
  console.error(`bench:quota failed: ${error instanceof Error ? error.stack : error}`);
  process.exit(1);
});

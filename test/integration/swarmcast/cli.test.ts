/**
 * The operator CLI end to end against the local stack: the real `swarmcast` binary as a
 * subprocess (no TTY, no stdin, no AWS variables), finding the stack through the registry
 * of local stacks, and real WebSocket clients counting what they receive.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { ClientSwarm } from '../../../local/clients/swarm';
import { localSfnClient } from '../../../local/demo';
import { publishLocalStack } from '../../../lib/local-stacks';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { runCli, waitUntil, reportAfterDrain, type CliRun } from '../helpers/broadcasts';
import { connectionRows, enqueuedCounts, localDynamo } from '../../../local/inspection';
import { partitionOf } from '../../../functions/commons/partitions';

const CLIENTS = 240;
const PARTITIONS = 24;
/**
 * 5 % of 24 partitions: one failed partition (4.2 %) is tolerated — the execution succeeds and
 * names it in `failedPartitions`; two (8.3 %) fail the execution. One stack covers both replay paths.
 */
const TOLERATED_FAILURE_PERCENTAGE = 5;
/** While set, DynamoDB answers every Query of these partitions with AccessDeniedException. */
const failingPartitions = new Set<number>();

let stack: LocalStack;
let swarm: ClientSwarm;
let sfn: SFNClient;
let dynamo: DynamoDBDocumentClient;
let tempDir: string;
let registry: string;

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'swarmcast-cli-'));
  registry = path.join(tempDir, 'local-stacks');
  stack = await startLocalStack({
    config: {
      partitions: PARTITIONS,
      partitionsPerChild: 1,
      toleratedFailurePercentage: TOLERATED_FAILURE_PERCENTAGE,
      shards: 3,
      connectionIdsPerMessage: 10,
    },
    progressPollMs: 50,
    dynamoDbFaults: (operation, input) => {
      const partition = (input.ExpressionAttributeValues as Record<string, { N?: string }> | undefined)?.[':partition']
        ?.N;
      if (operation === 'Query' && partition !== undefined && failingPartitions.has(Number(partition))) {
        return {
          statusCode: 400,
          errorType: 'AccessDeniedException',
          message: 'injected: not authorized to query this partition',
        };
      }
      return undefined;
    },
  });
  // registryDir() reads the variable when called: set it before publishing.
  process.env.SWARMCAST_LOCAL_DIR = registry;
  await publishLocalStack(stack);
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
  delete process.env.SWARMCAST_LOCAL_DIR;
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
}, 60_000);

/** Runs `swarmcast ...args` against this file's stack. */
const swarmcast = (args: string[], env: Record<string, string> = {}) => runCli(args, registry, env);

const stderrLines = (run: CliRun) => run.stderr.trim().split('\n');

async function executionCount(): Promise<number> {
  return (await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, maxResults: 1000 })))
    .executions!.length;
}

const rowsOf = () => connectionRows(dynamo, stack);

/** The first `n` partitions that hold connections: a fault on an empty one would change nothing. */
async function populatedPartitions(n: number): Promise<number[]> {
  const { rows } = await rowsOf();
  return [...rows.keys()].sort((a, b) => a - b).slice(0, n);
}

test('--help works for every command', async () => {
  const commands = ['send', 'status', 'list', 'replay', 'sweep', 'demo', 'local'];
  const [top, ...each] = await Promise.all([
    swarmcast(['--help']),
    ...commands.map((command) => swarmcast([command, '--help'])),
  ]);
  expect(top.code).toBe(0);
  for (const command of commands) expect(top.stdout).toContain(command);
  each.forEach((run, i) => {
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: swarmcast ${commands[i]}`);
    expect(run.stderr).toBe('');
  });
});

test('send starts a broadcast, status --watch follows it to the end, and every client receives it exactly once', async () => {
  await swarm.watch('cli-first');
  const sent = await swarmcast(['send', '--message-json', JSON.stringify({ text: 'cli-first' })]);
  expect(sent.code).toBe(0);
  expect(stderrLines(sent)).toEqual([
    expect.stringMatching(/^swarmcast: using local stack \(swarmcast local, pid \d+\) at http:\/\/127\.0\.0\.1:\d+$/),
  ]);
  const id = /started broadcast (b-\d{8}-\d{6}-[0-9a-f]{6})/.exec(sent.stdout)![1];
  expect(sent.stdout).toContain(`arn:aws:states:us-east-1:000000000000:execution:swarmcast-broadcast:${id}`);

  const watched = await swarmcast(['status', id, '--watch']);
  expect(watched.code).toBe(0);
  expect(watched.stdout).toContain(`broadcast ${id}: SUCCEEDED`);
  expect(watched.stdout).toContain(`${CLIENTS} enqueued: ${CLIENTS} delivered, 0 gone, 0 failed`);
  await swarm.waitForAll(30_000);
  expect(await reportAfterDrain({ stack, swarm })).toMatchObject({ open: CLIENTS, received: CLIENTS, duplicates: 0 });

  const status = await swarmcast(['status', id, '--json']);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({
    id,
    kind: 'message',
    status: 'SUCCEEDED',
    partitions: { total: PARTITIONS, succeeded: PARTITIONS, failed: 0, pending: 0, running: 0 },
    delivery: { enqueued: CLIENTS, accounted: CLIENTS, delivered: CLIENTS, gone: 0, failed: 0 },
    summary: { broadcastId: id, failedPartitions: [] },
    replays: [],
  });

  const listed = await swarmcast(['list', '--json', '--limit', '5']);
  expect(listed.code).toBe(0);
  expect(JSON.parse(listed.stdout).broadcasts[0]).toMatchObject({
    id,
    kind: 'message',
    status: 'SUCCEEDED',
    summary: { delivered: CLIENTS },
  });
  const table = await swarmcast(['list']);
  expect(table.stdout).toMatch(new RegExp(`^${id}\\s+broadcast\\s+SUCCEEDED`, 'm'));
});

test('--json prints one JSON object: send --wait its final status, send alone what it started, replay why it starts nothing', async () => {
  await swarm.watch('cli-json');
  const waited = await swarmcast(['send', '--message', 'cli-json', '--wait', '--json']);
  expect(waited.code).toBe(0);
  expect(waited.stdout.trim().split('\n')).toHaveLength(1);
  const status = JSON.parse(waited.stdout);
  expect(status).toMatchObject({
    kind: 'message',
    message: 'cli-json',
    status: 'SUCCEEDED',
    delivery: { enqueued: CLIENTS, delivered: CLIENTS },
    summary: { failedPartitions: [] },
  });
  // No progress lines: stderr only names the target.
  expect(stderrLines(waited)).toEqual([expect.stringMatching(/^swarmcast: using local stack/)]);
  expect(await swarm.waitForAll(30_000)).toMatchObject({ received: CLIENTS, duplicates: 0 });

  const started = await swarmcast(['send', '--message-json', '{"text":"cli-json-again"}', '--json']);
  expect(started.code).toBe(0);
  const { id } = JSON.parse(started.stdout);
  expect(JSON.parse(started.stdout)).toEqual({
    action: 'start',
    id: expect.stringMatching(/^b-\d{8}-\d{6}-[0-9a-f]{6}$/),
    executionArn: `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:${id}`,
  });
  const watched = await swarmcast(['status', id, '--watch', '--json']);
  expect(JSON.parse(watched.stdout)).toMatchObject({ id, message: { text: 'cli-json-again' }, status: 'SUCCEEDED' });

  const replayed = await swarmcast(['replay', status.id, '--json']);
  expect(replayed.code).toBe(0);
  expect(JSON.parse(replayed.stdout)).toEqual({
    action: 'nothing',
    reason: expect.stringMatching(/^nothing failed: /),
  });

  // --json takes no value anywhere: a payload after it is refused, and nothing starts.
  const before = await executionCount();
  const misused = await swarmcast(['send', '--json', '{"text":"hi"}']);
  expect(misused.code).toBe(1);
  expect(stderrLines(misused)).toEqual([
    expect.stringMatching(/^swarmcast: too many arguments for 'send'\..*\(swarmcast --help shows the usage\)$/),
  ]);
  expect(misused.stdout).toBe('');
  expect(await executionCount()).toBe(before);
});

test('a partition failing within the tolerance: send --wait exits 2 naming it; replay sends to just that partition, once', async () => {
  const [failing] = await populatedPartitions(1);
  const { rows } = await rowsOf();
  failingPartitions.add(failing);
  await swarm.watch('cli-second');

  const sent = await swarmcast(['send', '--message', 'cli-second', '--id', 'second', '--wait']);
  expect(sent.code).toBe(2);
  expect(sent.stdout).toContain('broadcast second: SUCCEEDED');
  expect(sent.stdout).toMatch(new RegExp(`not reached\\s+partition ${failing}\\n`));
  expect(sent.stdout).toContain('swarmcast replay second');
  // Not a TTY: progress comes as plain lines on stderr.
  expect(sent.stderr).toMatch(/^\d\d:\d\d:\d\d {2}second RUNNING/m);
  await waitUntil(async () => (await swarm.report()).received === CLIENTS - rows.get(failing)!, 30_000);

  failingPartitions.clear();
  const replayed = await swarmcast(['replay', 'second', '--wait']);
  expect(replayed.code).toBe(0);
  expect(replayed.stdout).toContain(`replaying partition(s) ${failing} of second as second-replay-1`);
  expect(replayed.stdout).toContain('replay second-replay-1: SUCCEEDED');
  await swarm.waitForAll(30_000);
  expect(await reportAfterDrain({ stack, swarm })).toMatchObject({ received: CLIENTS, duplicates: 0 });

  const status = JSON.parse((await swarmcast(['status', 'second', '--json'])).stdout);
  expect(status.summary.failedPartitions).toEqual([failing]);
  expect(status.replays).toEqual([
    expect.objectContaining({ id: 'second-replay-1', status: 'SUCCEEDED', failedPartitions: [] }),
  ]);
  expect((await swarmcast(['status', 'second'])).stdout).toContain('second-replay-1 SUCCEEDED, all partitions reached');

  // Everything reached: a second replay starts nothing.
  const before = await executionCount();
  const again = await swarmcast(['replay', 'second']);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/^nothing failed: second-replay-1 reached every partition/);
  expect(await executionCount()).toBe(before);
  expect((await swarm.report()).duplicates).toBe(0);
});

test('partitions failing past the tolerance fail the broadcast; replay redrives only them, and nobody gets it twice', async () => {
  const failing = await populatedPartitions(2);
  for (const partition of failing) failingPartitions.add(partition);
  await swarm.watch('cli-third');

  const sent = await swarmcast(['send', '--message', 'cli-third', '--id', 'third', '--wait']);
  expect(sent.code).toBe(2);
  expect(sent.stdout).toContain('broadcast third: FAILED');
  expect(sent.stdout).toContain('States.ExceedToleratedFailureThreshold');

  // Children still running when the map failed finish in the background; let their deliveries land.
  const enqueued = async () =>
    Object.values(await enqueuedCounts(dynamo, stack.tableNames.Broadcasts, 'third')).reduce((a, b) => a + b, 0);
  await waitUntil(
    async () => (await stack.consumers.idle()) && (await swarm.report()).received === (await enqueued()),
    30_000,
  );
  expect((await swarm.report()).received).toBeLessThan(CLIENTS);

  failingPartitions.clear();
  const before = await executionCount();
  const replayed = await swarmcast(['replay', 'third', '--wait']);
  expect(replayed.code).toBe(0);
  expect(replayed.stdout).toContain('redriving third');
  expect(replayed.stdout).toContain('broadcast third: SUCCEEDED');
  expect(await executionCount()).toBe(before);
  await swarm.waitForAll(30_000);
  expect(await reportAfterDrain({ stack, swarm })).toMatchObject({ received: CLIENTS, duplicates: 0 });

  const status = JSON.parse((await swarmcast(['status', 'third', '--json'])).stdout);
  expect(status).toMatchObject({
    status: 'SUCCEEDED',
    redriveCount: 1,
    summary: { failedPartitions: [], delivered: CLIENTS },
  });
});

test('sweep removes the rows past their TTL of connections that vanished without $disconnect, and no live row', async () => {
  const vanished = Array.from({ length: 12 }, (_, i) => `VanishedCli${String(i).padStart(2, '0')}=`).map(
    (connectionId) => ({ connectionId, partition: partitionOf(connectionId, PARTITIONS) }),
  );
  // Past expiresAt: API Gateway has closed every such socket, so the sweep deletes them without asking it.
  const expiresAt = Math.floor(Date.now() / 1000) - 60;
  for (const { connectionId, partition } of vanished) {
    await dynamo.send(
      new PutCommand({
        TableName: stack.tableNames.Connections,
        Item: { partition, connectionId, connectedAt: Date.now(), expiresAt },
      }),
    );
  }

  const swept = await swarmcast(['sweep', '--wait']);
  expect(swept.code).toBe(0);
  const id = /started sweep (sweep-\d{8}-\d{6}-[0-9a-f]{6})/.exec(swept.stdout)![1];
  expect(swept.stdout).toContain(`sweep ${id}: SUCCEEDED — removed 12 gone connections`);
  expect(swept.stdout).toContain('12 past their TTL: 12 removed, 0 failed');

  for (const { connectionId, partition } of vanished) {
    const { Item } = await dynamo.send(
      new GetCommand({ TableName: stack.tableNames.Connections, Key: { partition, connectionId } }),
    );
    expect(Item).toBeUndefined();
  }
  const { rows, misplaced } = await rowsOf();
  expect(misplaced).toEqual([]);
  expect([...rows.values()].reduce((a, b) => a + b, 0)).toBe(CLIENTS);
  expect(JSON.parse((await swarmcast(['status', id, '--json'])).stdout)).toMatchObject({
    kind: 'sweep',
    status: 'SUCCEEDED',
    summary: { gone: 12 },
  });
});

test('bad input is refused with one clear line and a non-zero exit, before any execution starts', async () => {
  const tooBig = path.join(tempDir, 'too-big.txt');
  await writeFile(tooBig, 'x'.repeat(128 * 1024 + 1));
  const before = await executionCount();

  const cases: [string[], RegExp][] = [
    [
      ['send', '--message-json', '{bad'],
      /^swarmcast: --message-json is not valid JSON \(.+\); for plain text use --message$/,
    ],
    [['send', '--message', ''], /^swarmcast: the message is empty/],
    [
      ['send', '--file', tooBig],
      /^swarmcast: cannot send: "message" is 131,073 bytes; a WebSocket message can carry at most 131,072 bytes \(128 KB\)$/,
    ],
    [
      ['send', '--file', path.join(tempDir, 'missing.txt')],
      /^swarmcast: cannot read --file .*missing\.txt: no such file$/,
    ],
    [['send'], /^swarmcast: give the message with exactly one of --message TEXT, --message-json JSON or --file PATH$/],
    [['send', '--message', 'a', '--message-json', '"b"'], /exactly one of .* \(got --message and --message-json\)$/],
    [['send', '--message', 'a', '--id', 'not valid!'], /^swarmcast: --id must be 1–80 letters, digits, "-" or "_"/],
  ];
  const runs = await Promise.all(cases.map(([args]) => swarmcast(args)));
  runs.forEach((run, i) => {
    expect(run.code).toBe(1);
    expect(stderrLines(run)).toEqual([expect.stringMatching(cases[i][1])]);
    expect(run.stdout).toBe('');
  });
  expect(await executionCount()).toBe(before);
});

test('an unknown id, or no local stack behind --local, is one line saying what to do', async () => {
  const [status, replay] = await Promise.all([
    swarmcast(['status', 'no-such-broadcast']),
    swarmcast(['replay', 'no-such-broadcast']),
  ]);
  for (const run of [status, replay]) {
    expect(run.code).toBe(1);
    expect(stderrLines(run)).toEqual([
      expect.stringMatching(/^swarmcast: using local stack/),
      'swarmcast: no broadcast or sweep with id "no-such-broadcast" on this target; `swarmcast list` shows the recent ones',
    ]);
  }

  const noLocal = await swarmcast(['list', '--local'], { SWARMCAST_LOCAL_DIR: path.join(tempDir, 'nothing-here') });
  expect(noLocal.code).toBe(1);
  expect(stderrLines(noLocal)).toEqual([
    'swarmcast: no local stack is running: start one with `npx swarmcast local` in another terminal, or pass --endpoint URL',
  ]);

  // An explicit endpoint needs no registry entry.
  const byEndpoint = await swarmcast(['list', '--endpoint', stack.stepFunctionsEndpoint, '--json'], {
    SWARMCAST_LOCAL_DIR: path.join(tempDir, 'nothing-here'),
  });
  expect(byEndpoint.code).toBe(0);
  expect(stderrLines(byEndpoint)).toEqual([
    `swarmcast: using Step Functions API at ${stack.stepFunctionsEndpoint} (--endpoint), state machine ${stack.stateMachineArn}`,
  ]);
  expect(JSON.parse(byEndpoint.stdout).broadcasts.length).toBeGreaterThan(0);
});

test('with two local stacks running, `list --local` shows each, and `send` names both and the option that chooses one', async () => {
  // The same stack published again under another running process: the registry holds two.
  const twoStacks = path.join(tempDir, 'two-stacks');
  process.env.SWARMCAST_LOCAL_DIR = twoStacks;
  await publishLocalStack(stack, process.pid);
  await publishLocalStack(stack, process.ppid);
  process.env.SWARMCAST_LOCAL_DIR = registry;
  const [list, send] = await Promise.all([
    swarmcast(['list', '--local', '--json', '--limit', '1'], { SWARMCAST_LOCAL_DIR: twoStacks }),
    swarmcast(['send', '--message', 'to which?'], { SWARMCAST_LOCAL_DIR: twoStacks }),
  ]);

  expect(list.code).toBe(0);
  expect((JSON.parse(list.stdout) as { stacks: { pid: number }[] }).stacks.map((s) => s.pid)).toEqual(
    [process.pid, process.ppid].sort((a, b) => a - b),
  );
  expect(send.code).toBe(1);
  expect(stderrLines(send)).toEqual([
    expect.stringMatching(
      /^swarmcast: 2 local stacks are running: pid \d+ \(Step Functions API http:\/\/127\.0\.0\.1:\d+\), pid \d+ .*; choose one with --endpoint URL$/,
    ),
  ]);
});

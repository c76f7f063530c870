/**
 * How `swarmcast local` stops, run as the real CLI in a process group of its own.
 * Ctrl-C while clients connect: the terminal sends SIGINT to the whole group (the stack, its
 * gateway workers, every local function instance). The stack closes the sockets and waits for
 * their $disconnects; none may be lost because a function instance died of the same Ctrl-C. The
 * tables are kept with --data and read afterwards from a fresh dynalite.
 * A service that dies: the reason is the last line printed, whatever stopping printed before it.
 */
import { readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { startDynamoDb } from '../../../local/dynamodb';
import { waitUntil } from '../helpers/broadcasts';
import { localDynamo, scanAll } from '../../../local/inspection';

jest.setTimeout(180_000);

const BIN = path.join(__dirname, '..', '..', '..', 'cli', 'bin', 'swarmcast.cjs');
const CLIENTS = 400;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Rows of the Connections table, whatever its key schema. */
async function connectionRows(
  endpoint: { dynamoDbEndpoint: string; region: string },
  tableName: string,
): Promise<number> {
  const dynamo = localDynamo(endpoint);
  try {
    return (await scanAll(dynamo, tableName)).length;
  } finally {
    dynamo.destroy();
  }
}

let tempDir: string;
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'swarmcast-ctrl-c-'));
});
afterAll(() => rm(tempDir, { recursive: true, force: true }));

interface RunningLocal {
  child: ReturnType<typeof spawn>;
  printed: { webSocketUrl: string; dynamoDbEndpoint: string; region: string };
  exited: Promise<number | null>;
  stderr: () => string;
}

async function startLocal(dataDir: string): Promise<RunningLocal> {
  const [port, stepFunctionsPort, consolePort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      BIN,
      'local',
      '--json',
      '--data',
      dataDir,
      '--port',
      String(port),
      '--stepfunctions-port',
      String(stepFunctionsPort),
      '--console-port',
      String(consolePort),
    ],
    {
      detached: true, // its own process group, as a terminal's foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SWARMCAST_LOCAL_DIR: path.join(tempDir, 'registry') },
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const printed = await new Promise<RunningLocal['printed']>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.slice(0, stdout.indexOf('\n'))));
    });
    void exited.then((code) => reject(new Error(`swarmcast local exited with ${code}: ${stderr}`)));
  });
  return { child, printed, exited, stderr: () => stderr };
}

/** The child processes of `pid` whose command line mentions `entry` (Linux /proc). */
async function childrenRunning(pid: number, entry: string): Promise<number[]> {
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8'))
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  const found: number[] = [];
  for (const child of children)
    if ((await readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '')).includes(entry)) found.push(child);
  return found;
}

test(`Ctrl-C while ${CLIENTS} clients connect runs every $disconnect (and refuses the connects it cut short) before the stack stops: no row is left`, async () => {
  const dataDir = path.join(tempDir, 'tables');
  const { child, printed, exited } = await startLocal(dataDir);
  const tableName = 'swarmcast-Connections';
  // Clients keep connecting while Ctrl-C arrives: some connected, some in $connect, some not yet there.
  const sockets = Array.from({ length: CLIENTS }, () => {
    const socket = new WebSocket(printed.webSocketUrl);
    socket.on('error', () => undefined);
    return socket;
  });
  await waitUntil(async () => (await connectionRows(printed, tableName)) >= CLIENTS / 10);

  process.kill(-child.pid!, 'SIGINT');
  expect(await exited).toBe(0);
  for (const socket of sockets) socket.terminate();

  const dynamoDb = await startDynamoDb({ dataDir, tablePrefix: 'swarmcast' });
  try {
    expect(
      await connectionRows(
        { dynamoDbEndpoint: dynamoDb.endpoint, region: 'us-east-1' },
        dynamoDb.tableNames.Connections,
      ),
    ).toBe(0);
  } finally {
    await dynamoDb.stop();
  }
});

test('SQS dying stops the stack, and the last line says why and what can be done (no replay: the executions are gone)', async () => {
  const { child, exited, stderr } = await startLocal(path.join(tempDir, 'tables-sqs'));
  const [sqs] = await childrenRunning(child.pid!, 'sqs-server-process');

  process.kill(sqs, 'SIGKILL');

  expect(await exited).toBe(1);
  expect(stderr().trimEnd().split('\n').at(-1)).toBe(
    "swarmcast local: stopped because SQS (local-aws-sqs) exited with SIGKILL; the delivery tasks it held were in memory and are lost, and the broadcasts' executions end with the stack, so none can be replayed: start it again and send again what did not arrive (clients that had it get it twice unless they drop repeats by broadcast id: broadcastIdEnvelope)",
  );
});

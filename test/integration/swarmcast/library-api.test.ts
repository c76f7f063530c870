/**
 * The library API (`import … from 'swarmcast'`, lib/index.ts) against the local stack: found through
 * the registry of local stacks as the CLI finds it, real WebSocket clients counting what arrives.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { broadcast, connect, list, outcomeOf, replay, status, SwarmcastError, type BroadcastStatus } from 'swarmcast';
import { publishLocalStack } from '../../../lib/local-stacks';
import { ClientSwarm } from '../../../local/clients/swarm';
import { localSfnClient } from '../../../local/demo';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { reportAfterDrain, waitUntil } from '../helpers/broadcasts';

const CLIENTS = 60;

let stack: LocalStack;
let swarm: ClientSwarm;
let sfn: SFNClient;
let tempDir: string;

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'swarmcast-library-'));
  stack = await startLocalStack({ config: { partitions: 8, shards: 2 }, progressPollMs: 50 });
  // registryDir() reads the variable when called: set it before publishing.
  process.env.SWARMCAST_LOCAL_DIR = path.join(tempDir, 'local-stacks');
  await publishLocalStack(stack);
  sfn = localSfnClient(stack);
  swarm = await ClientSwarm.connect(stack.webSocketUrl, CLIENTS);
}, 120_000);

afterAll(async () => {
  await swarm?.close().catch(() => {});
  await swarm?.stop();
  await stack?.stop();
  sfn?.destroy();
  delete process.env.SWARMCAST_LOCAL_DIR;
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
}, 60_000);

const executionCount = async () =>
  (await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn }))).executions?.length ?? 0;

/** The status once the execution has ended, read through the library on each turn. */
async function endedStatus(id: string): Promise<BroadcastStatus> {
  let latest: BroadcastStatus | undefined;
  await waitUntil(async () => {
    latest = await status(id, { target: { local: true } });
    return outcomeOf(latest) !== 'running';
  });
  return latest!;
}

test('broadcast() reaches every client, status() counts them delivered, list() shows it, replay() finds nothing to do', async () => {
  await swarm.watch('library-first');

  const started = await broadcast({ type: 'notice', text: 'library-first' }, { target: { local: true } });

  expect(started).toMatchObject({ action: 'start', headline: `started broadcast ${started.id}` });
  const ended = await endedStatus(started.id);
  expect(outcomeOf(ended)).toBe('complete');
  expect(ended.summary).toMatchObject({ connections: CLIENTS, delivered: CLIENTS, gone: 0, failed: 0 });
  expect(ended.delivery).toMatchObject({ enqueued: CLIENTS, delivered: CLIENTS });
  expect((await reportAfterDrain({ stack, swarm })).received).toBe(CLIENTS);
  const listed = await list({ target: { endpoint: stack.stepFunctionsEndpoint }, limit: 5 });
  expect(listed[0]).toMatchObject({ id: started.id, kind: 'message', status: 'SUCCEEDED' });
  expect(await replay(started.id)).toEqual({
    action: 'nothing',
    reason: `nothing failed: ${started.id} reached every partition it planned (8) and every socket; nothing to replay`,
  });
}, 120_000);

test('a target from connect() serves several calls; a given id names the broadcast', async () => {
  const target = await connect({ endpoint: stack.stepFunctionsEndpoint });
  try {
    const started = await broadcast('library-second', { target, id: 'library-second' });

    expect(started.id).toBe('library-second');
    expect((await status('library-second', { target })).broadcastId).toBe('library-second');
  } finally {
    target.close();
  }
  await endedStatus('library-second');
}, 120_000);

test('a rejected broadcast starts no execution, and the error says what was wrong and what is allowed', async () => {
  const before = await executionCount();

  const rejected = await Promise.all([
    broadcast('', { target: { local: true } }).catch((error: unknown) => error),
    broadcast('x'.repeat(200 * 1024), { target: { local: true } }).catch((error: unknown) => error),
    broadcast('hello', { target: { local: true }, id: 'has space' }).catch((error: unknown) => error),
    list({ target: { local: true }, limit: 0 }).catch((error: unknown) => error),
  ]);

  for (const error of rejected) expect(error).toBeInstanceOf(SwarmcastError);
  expect((rejected as Error[]).map((error) => error.message)).toEqual([
    'the message is empty (""): give the text or JSON value to send',
    expect.stringMatching(/^cannot send: .*128/),
    'the id must be 1–80 letters, digits, "-" or "_", not "has space"',
    'limit must be a whole number from 1 to 1000, not 0',
  ]);
  expect(await executionCount()).toBe(before);
});

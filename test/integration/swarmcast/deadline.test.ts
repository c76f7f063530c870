/**
 * Issue 25, "one deadline", end to end on the local stack: an account quota too low for the
 * delivery deadline (10 calls/s, burst 5, a 10 s deadline, 150 real clients, the default budget
 * far above the quota). The execution ends when every socket is delivered or failed, its counts
 * are the truth and stay it (no client gets the message after the end), `swarmcast send --wait
 * --json` exits 2 with those counts, `status` shows them, and `swarmcast replay` reaches exactly
 * the clients that did not get it, each once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { BroadcastStatus } from '../../../lib/broadcast-status';
import { ClientSwarm } from '../../../local/clients/swarm';
import { localSfnClient } from '../../../local/demo';
import { publishLocalStack } from '../../../lib/local-stacks';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { reportAfterDrain, runCli } from '../helpers/broadcasts';

const CLIENTS = 150;
/** 150 sockets need 15 s at this quota: a 10 s deadline leaves about a third of them failed. */
const QUOTA = { ratePerSecond: 10, burst: 5 };
const DEADLINE_SECONDS = 10;

let stack: LocalStack;
let swarm: ClientSwarm;
let sfn: SFNClient;
let tempDir: string;
let registry: string;

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'swarmcast-deadline-'));
  registry = path.join(tempDir, 'local-stacks');
  stack = await startLocalStack({
    config: {
      deliveryTimeoutSeconds: DEADLINE_SECONDS,
      partitions: 8,
      partitionsPerChild: 2,
      shards: 2,
      connectionIdsPerMessage: 10,
    },
    quota: QUOTA,
    connectRate: 'off',
    progressPollMs: 100,
  });
  process.env.SWARMCAST_LOCAL_DIR = registry;
  await publishLocalStack(stack);
  sfn = localSfnClient(stack);
  // Handshakes draw on the same quota: 150 at 10/s take ~15 s, retried by the swarm.
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

const swarmcast = (args: string[]) => runCli(args, registry);

test('a quota too low for the deadline: the execution ends with true, final counts, exit 2, and the replay reaches exactly the rest, once', async () => {
  // act: the broadcast
  await swarm.watch('past-the-deadline');
  const sent = await swarmcast(['send', '--message', 'past-the-deadline', '--wait', '--json']);
  const ended = JSON.parse(sent.stdout) as BroadcastStatus;
  // Counted once every shard queue has drained: a consumer still posting after the end would show here.
  const afterBroadcast = await reportAfterDrain({ stack, swarm });
  const status = JSON.parse((await swarmcast(['status', ended.id, '--json'])).stdout) as BroadcastStatus;

  // assess: failed for the sockets the deadline left, and exactly those
  const missed = CLIENTS - afterBroadcast.received;
  expect(missed).toBeGreaterThan(0);
  expect(sent.code).toBe(2);
  expect(ended).toMatchObject({ status: 'FAILED', error: 'DeliveryIncomplete' });
  expect(ended.delivery).toMatchObject({
    enqueued: CLIENTS,
    accounted: CLIENTS,
    delivered: afterBroadcast.received,
    gone: 0,
    failed: missed,
  });
  // Every client reads fast: the 429s are the account's, never slow readers.
  const { deadline = 0, throttled = 0, ...otherReasons } = ended.delivery!.failedBy ?? {};
  expect(deadline + throttled).toBe(missed);
  expect(otherReasons).toEqual({});
  expect(afterBroadcast).toMatchObject({ open: CLIENTS, duplicates: 0 });
  expect(status.delivery).toEqual(ended.delivery);

  // act: the replay
  const replayed = await swarmcast(['replay', ended.id, '--wait']);
  const afterReplay = await reportAfterDrain({ stack, swarm });

  // assess: every client has the message once
  expect(replayed.stdout).toContain(`replaying ${ended.id} to its ${missed} failed socket(s)`);
  expect(replayed.code).toBe(0);
  expect(replayed.stdout).toContain(`${CLIENTS} enqueued: ${CLIENTS} delivered, 0 gone, 0 failed`);
  expect(afterReplay).toMatchObject({ open: CLIENTS, received: CLIENTS, duplicates: 0 });
}, 150_000);

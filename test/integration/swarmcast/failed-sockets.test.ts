/**
 * Issue 13 end to end on the local stack: sockets whose posts API Gateway refuses (403, injected
 * in front of the real @connections API) fail the execution with DeliveryIncomplete and the
 * right counts, `swarmcast send --wait` (a subprocess) exits 2, and `swarmcast replay` sends to
 * exactly those sockets, each once.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { ClientSwarm } from '../../../local/clients/swarm';
import { localSfnClient } from '../../../local/demo';
import { publishLocalStack } from '../../../lib/local-stacks';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { reportAfterDrain, runCli } from '../helpers/broadcasts';

const CLIENTS = 200;
/** While true, posts to about one socket in eight answer 403; each refused id is recorded. */
let refusing = true;
const refused = new Set<string>();
const refuses = (connectionId: string) => createHash('sha256').update(connectionId).digest()[0] % 8 === 0;

let stack: LocalStack;
let swarm: ClientSwarm;
let sfn: SFNClient;
let tempDir: string;
let registry: string;

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'swarmcast-failed-'));
  registry = path.join(tempDir, 'local-stacks');
  stack = await startLocalStack({
    config: { partitions: 8, partitionsPerChild: 2, shards: 2, connectionIdsPerMessage: 10 },
    progressPollMs: 50,
    connectionsFaults: (method, connectionId) => {
      if (method !== 'POST' || !refusing || !refuses(connectionId)) return undefined;
      refused.add(connectionId);
      return 403;
    },
  });
  process.env.SWARMCAST_LOCAL_DIR = registry;
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

const swarmcast = (args: string[]) => runCli(args, registry);

test('refused sockets fail the broadcast with DeliveryIncomplete and exit 2; the replay reaches exactly them, each once', async () => {
  // act: the broadcast, with about one socket in eight refusing posts
  await swarm.watch('failed-sockets');
  const sent = await swarmcast(['send', '--message', 'failed-sockets', '--wait']);
  const id = /started broadcast (b-[\w-]+)/.exec(sent.stdout)![1];
  const execution = await sfn.send(
    new DescribeExecutionCommand({
      executionArn: `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:${id}`,
    }),
  );
  const afterBroadcast = await reportAfterDrain({ stack, swarm });

  // assess: the truth about the sockets, and what to do next
  const failed = refused.size;
  expect(failed).toBeGreaterThan(0);
  expect(sent.code).toBe(2);
  expect(execution).toMatchObject({ status: 'FAILED', error: 'DeliveryIncomplete' });
  expect(execution.cause).toBe(
    `${failed} of ${CLIENTS} sockets failed (${((failed * 100) / CLIENTS).toFixed(2).replace(/\.?0+$/, '')} %, tolerated 0 %): ${failed} refused with 403; ${CLIENTS - failed} delivered, 0 gone. \`swarmcast replay ${id}\` sends to the failed sockets again.`,
  );
  expect(sent.stdout).toContain(`${CLIENTS} enqueued: ${CLIENTS - failed} delivered, 0 gone, ${failed} failed`);
  expect(sent.stdout).toContain(`swarmcast replay ${id} sends to the ${failed} failed socket`);
  expect(afterBroadcast).toMatchObject({ open: CLIENTS, received: CLIENTS - failed, duplicates: 0 });

  // act: the cause fixed, the replay
  refusing = false;
  const replayed = await swarmcast(['replay', id, '--wait']);
  const afterReplay = await swarm.waitForAll(30_000);
  const drained = await reportAfterDrain({ stack, swarm });

  // assess: every client has the message once; the replay counted just the refused sockets
  expect(replayed.stdout).toContain(`replaying ${id} to its ${failed} failed socket(s)`);
  expect(replayed.code).toBe(0);
  expect(replayed.stdout).toContain(`replay ${id}-replay-1: SUCCEEDED`);
  expect(replayed.stdout).toContain(`${CLIENTS} enqueued: ${CLIENTS} delivered, 0 gone, 0 failed`);
  expect(afterReplay.received).toBe(CLIENTS);
  expect(drained).toMatchObject({ open: CLIENTS, received: CLIENTS, duplicates: 0 });

  // act and assess: a second replay finds nothing left to send
  const again = await swarmcast(['replay', id]);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('nothing to replay');
}, 180_000);

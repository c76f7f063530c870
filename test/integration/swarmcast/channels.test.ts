/**
 * Issue 22 end to end on the local stack: clients join channels by URL and by message, bad names
 * are refused with nothing stored, memberships leave with the socket, a channel broadcast reaches
 * exactly its members (each once, a client in two channels gets each channel's message once), and
 * a replay of a channel broadcast's failed sockets reaches just those.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import { publishLocalStack } from '../../../lib/local-stacks';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { partitionOf } from '../../../functions/commons/partitions';
import { runCli, waitUntil } from '../helpers/broadcasts';
import { localDynamo, scanAll } from '../../../local/inspection';

const PARTITIONS = 8;
const CHANNEL_PARTITIONS = 4;
const MAX_CHANNELS = 3;
/** While true, posts to the sockets `refuses` picks answer 403; each refused id is recorded. */
let refusing = false;
const refused = new Set<string>();
const refuses = (connectionId: string) => createHash('sha256').update(connectionId).digest()[0] % 2 === 0;

let stack: LocalStack;
let dynamo: DynamoDBDocumentClient;
let tempDir: string;
let registry: string;
const opened: Client[] = [];

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'swarmcast-channels-'));
  registry = path.join(tempDir, 'local-stacks');
  stack = await startLocalStack({
    config: {
      partitions: PARTITIONS,
      channelPartitions: CHANNEL_PARTITIONS,
      maxChannelsPerConnection: MAX_CHANNELS,
      partitionsPerChild: 2,
      shards: 2,
      connectionIdsPerMessage: 3,
    },
    progressPollMs: 50,
    connectionsFaults: (method, connectionId) => {
      if (method !== 'POST' || !refusing || !refuses(connectionId)) return undefined;
      refused.add(connectionId);
      return 403;
    },
  });
  process.env.SWARMCAST_LOCAL_DIR = registry;
  await publishLocalStack(stack);
  dynamo = localDynamo(stack);
}, 120_000);

afterAll(async () => {
  for (const client of opened) client.socket.terminate();
  await stack?.stop();
  dynamo?.destroy();
  delete process.env.SWARMCAST_LOCAL_DIR;
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
}, 60_000);

/** A socket, its connection id (found as the one new Connections row) and what it received. */
interface Client {
  socket: WebSocket;
  connectionId: string;
  received: string[];
}

const rowIds = async () =>
  new Set((await scanAll(dynamo, stack.tableNames.Connections)).map((row) => row.connectionId));

/** Opens one socket (one at a time, so its row is the one new row). */
async function connect(query = ''): Promise<Client> {
  const before = await rowIds();
  const socket = new WebSocket(`${stack.webSocketUrl}${query}`);
  const received: string[] = [];
  socket.on('message', (data) => received.push(data.toString('utf8')));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const added = [...(await rowIds())].filter((id) => !before.has(id));
  expect(added).toHaveLength(1);
  const client = { socket, connectionId: added[0], received };
  opened.push(client);
  return client;
}

async function connectEach(count: number, query = ''): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < count; i++) clients.push(await connect(query));
  return clients;
}

/** The handshake's answer when the gateway refuses it. */
function refusedStatus(query: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${stack.webSocketUrl}${query}`);
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => reject(new Error(`the gateway accepted ${query}`)));
    socket.once('error', () => undefined);
  });
}

/** Sends a subscription message and resolves with the route's answer. */
async function ask(client: Client, message: Record<string, unknown>): Promise<Record<string, unknown>> {
  const before = client.received.length;
  client.socket.send(JSON.stringify(message));
  await waitUntil(() => client.received.length > before);
  return JSON.parse(client.received.splice(before, 1)[0]);
}

/** channel → connection ids, from the Subscriptions table, each item checked to be where its id hashes. */
async function memberships(): Promise<Map<string, string[]>> {
  const members = new Map<string, string[]>();
  for (const item of await scanAll(dynamo, stack.tableNames.Subscriptions)) {
    const [channel, partition] = (item.channelPartition as string).split('#');
    expect(Number(partition)).toBe(partitionOf(item.connectionId, CHANNEL_PARTITIONS));
    members.set(channel, [...(members.get(channel) ?? []), item.connectionId].sort());
  }
  return members;
}

async function channelsOnRow(connectionId: string): Promise<string[] | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: stack.tableNames.Connections,
      Key: { partition: partitionOf(connectionId, PARTITIONS), connectionId },
      ConsistentRead: true,
    }),
  );
  return Item?.channels ? [...(Item.channels as Set<string>)].sort() : undefined;
}

async function close(client: Client): Promise<void> {
  await new Promise((resolve) => {
    client.socket.once('close', resolve);
    client.socket.close();
  });
  opened.splice(opened.indexOf(client), 1);
}

const swarmcast = (args: string[]) => runCli(args, registry);

test('?channels= joins at $connect; a bad list refuses the handshake and stores nothing', async () => {
  const client = await connect('?channels=red,blue');
  expect(await channelsOnRow(client.connectionId)).toEqual(['blue', 'red']);
  expect(await memberships()).toEqual(
    new Map([
      ['red', [client.connectionId]],
      ['blue', [client.connectionId]],
    ]),
  );

  const rowsBefore = await rowIds();
  const membersBefore = await memberships();
  for (const query of [
    '?channels=ok,bad%20name',
    `?channels=${'x'.repeat(65)}`,
    '?channels=a,a',
    '?channels=a,b,c,d',
    '?channels=a,,b',
  ]) {
    expect(await refusedStatus(query)).toBe(400);
  }
  expect(await rowIds()).toEqual(rowsBefore);
  expect(await memberships()).toEqual(membersBefore);

  await close(client);
  await waitUntil(async () => (await memberships()).size === 0);
}, 60_000);

test('subscribe and unsubscribe by message answer on the socket; bad names and a full set are refused', async () => {
  const client = await connect();
  expect(await ask(client, { action: 'subscribe', channel: 'green' })).toEqual({
    action: 'subscribe',
    channel: 'green',
    ok: true,
  });
  // Twice is ok and stores one membership.
  expect(await ask(client, { action: 'subscribe', channel: 'green' })).toMatchObject({ ok: true });
  expect((await memberships()).get('green')).toEqual([client.connectionId]);
  expect(await channelsOnRow(client.connectionId)).toEqual(['green']);

  const bad = await ask(client, { action: 'subscribe', channel: 'no spaces' });
  expect(bad).toEqual({
    ok: false,
    error:
      '"channel" "no spaces" is not a channel name: it must be 1–64 characters, each a letter, a digit, "_", ".", ":" or "-"',
  });
  expect(await ask(client, { action: 'subscribe', channel: 'g2' })).toMatchObject({ ok: true });
  expect(await ask(client, { action: 'subscribe', channel: 'g3' })).toMatchObject({ ok: true });
  expect(await ask(client, { action: 'subscribe', channel: 'g4' })).toEqual({
    action: 'subscribe',
    channel: 'g4',
    ok: false,
    error: `this connection is in ${MAX_CHANNELS} channels already, the most one may be in; unsubscribe from one first`,
  });
  expect((await memberships()).get('g4')).toBeUndefined();

  expect(await ask(client, { action: 'unsubscribe', channel: 'green' })).toEqual({
    action: 'unsubscribe',
    channel: 'green',
    ok: true,
  });
  expect((await memberships()).get('green')).toBeUndefined();
  expect(await channelsOnRow(client.connectionId)).toEqual(['g2', 'g3']);

  // Membership leaves with the socket: $disconnect deletes the row and the items it names.
  await close(client);
  await waitUntil(async () => (await memberships()).size === 0);
  expect(await rowIds()).not.toContain(client.connectionId);
}, 60_000);

test('a channel broadcast reaches exactly its members, each once; a client in two channels gets each once', async () => {
  const redOnly = await connectEach(3, '?channels=red');
  const blueOnly = await connect('?channels=blue');
  const both = await connect('?channels=red,blue');
  const none = await connectEach(2);
  const byMessage = await connect();
  expect(await ask(byMessage, { action: 'subscribe', channel: 'red' })).toMatchObject({ ok: true });

  const red = await swarmcast(['send', '--message', 'to-red', '--channel', 'red', '--wait']);
  const blue = await swarmcast(['send', '--message', 'to-blue', '--channel', 'blue', '--wait']);
  expect(red.code).toBe(0);
  expect(blue.code).toBe(0);
  expect(red.stdout).toContain('5 enqueued: 5 delivered, 0 gone, 0 failed');
  expect(blue.stdout).toContain('2 enqueued: 2 delivered, 0 gone, 0 failed');
  await waitUntil(() => stack.consumers.idle());

  for (const client of [...redOnly, byMessage]) expect(client.received).toEqual(['to-red']);
  expect(blueOnly.received).toEqual(['to-blue']);
  expect([...both.received].sort()).toEqual(['to-blue', 'to-red']);
  for (const client of none) expect(client.received).toEqual([]);

  const id = /started broadcast (b-[\w-]+)/.exec(red.stdout)![1];
  const status = await swarmcast(['status', id]);
  expect(status.stdout).toContain('channel');
  expect(status.stdout).toMatch(/partitions\s+4 of 4 succeeded/);
  expect((await swarmcast(['list'])).stdout).toContain('broadcast #red');

  // A bad channel name starts nothing.
  const refusedSend = await swarmcast(['send', '--message', 'x', '--channel', 'no spaces']);
  expect(refusedSend.code).not.toBe(0);
  expect(refusedSend.stderr).toContain('"channel" "no spaces" is not a channel name');

  for (const client of [...redOnly, blueOnly, both, ...none, byMessage]) await close(client);
  await waitUntil(async () => (await memberships()).size === 0);
}, 120_000);

test("a replay of a channel broadcast's failed sockets reaches just those, once; a gone member's row and item go", async () => {
  const members = await connectEach(8, '?channels=room');
  const outsider = await connect('?channels=hall');
  // A member whose socket vanished without $disconnect: its row and item stay until a 410.
  // One whose posts are not refused, so it answers 410 from the gateway, and whose row's partition
  // is not its channel partition: the 410 must find the row by the id's own partition.
  const vanished = Array.from({ length: 64 }, (_, i) => `Vanished${i}=`).find(
    (id) => !refuses(id) && partitionOf(id, PARTITIONS) !== partitionOf(id, CHANNEL_PARTITIONS),
  )!;
  const expiresAt = Math.floor(Date.now() / 1000) + 3_600;
  await dynamo.send(
    new PutCommand({
      TableName: stack.tableNames.Connections,
      Item: {
        partition: partitionOf(vanished, PARTITIONS),
        connectionId: vanished,
        expiresAt,
        channels: new Set(['room']),
      },
    }),
  );
  await dynamo.send(
    new PutCommand({
      TableName: stack.tableNames.Subscriptions,
      Item: {
        channelPartition: `room#${partitionOf(vanished, CHANNEL_PARTITIONS)}`,
        connectionId: vanished,
        expiresAt,
      },
    }),
  );

  refusing = true;
  const sent = await swarmcast(['send', '--message', 'to-room', '--channel', 'room', '--wait']);
  refusing = false;
  await waitUntil(() => stack.consumers.idle());
  const failed = refused.size;
  expect(failed).toBeGreaterThan(0);
  expect(failed).toBeLessThan(members.length);
  expect(sent.code).toBe(2);
  expect(sent.stdout).toContain(`9 enqueued: ${members.length - failed} delivered, 1 gone, ${failed} failed`);
  expect((await memberships()).get('room')).not.toContain(vanished);
  expect(await rowIds()).not.toContain(vanished);

  const id = /started broadcast (b-[\w-]+)/.exec(sent.stdout)![1];
  const replayed = await swarmcast(['replay', id, '--wait']);
  await waitUntil(() => stack.consumers.idle());
  expect(replayed.code).toBe(0);
  expect(replayed.stdout).toContain(`replaying ${id} to its ${failed} failed socket(s)`);
  // The replay visits the channel's partitions, not the connection partitions.
  expect(replayed.stdout).toMatch(/partitions\s+4 of 4 succeeded/);
  for (const client of members) expect(client.received).toEqual(['to-room']);
  expect(outsider.received).toEqual([]);
}, 120_000);

test("the sweep deletes an expired row's memberships with it", async () => {
  // A row past its TTL that DynamoDB has not deleted yet (it may lag ~2 days), with its membership.
  const expired = 'ExpiredMember=';
  const expiresAt = Math.floor(Date.now() / 1000) - 60;
  await dynamo.send(
    new PutCommand({
      TableName: stack.tableNames.Connections,
      Item: {
        partition: partitionOf(expired, PARTITIONS),
        connectionId: expired,
        expiresAt,
        channels: new Set(['attic']),
      },
    }),
  );
  await dynamo.send(
    new PutCommand({
      TableName: stack.tableNames.Subscriptions,
      Item: { channelPartition: `attic#${partitionOf(expired, CHANNEL_PARTITIONS)}`, connectionId: expired, expiresAt },
    }),
  );

  const swept = await swarmcast(['sweep', '--wait']);

  expect(swept.code).toBe(0);
  expect(await rowIds()).not.toContain(expired);
  expect((await memberships()).get('attic')).toBeUndefined();
}, 60_000);

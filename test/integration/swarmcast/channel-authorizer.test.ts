/**
 * The $connect authorizer limits channels (docs/channels.md): its context's allowedChannels
 * patterns reach $connect in requestContext.authorizer, are checked against ?channels= and stored
 * on the row, and every later subscribe is checked against them.
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import { partitionOf } from '../../../functions/commons/partitions';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { waitUntil } from '../helpers/broadcasts';
import { localDynamo, scanAll } from '../../../local/inspection';

const PARTITIONS = 4;
let stack: LocalStack;
let dynamo: DynamoDBDocumentClient;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    config: {
      partitions: PARTITIONS,
      shards: 1,
      connectAuthorizer: 'test/integration/fixtures/authorizers/channel-authorizer.ts',
    },
  });
  dynamo = localDynamo(stack);
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await stack?.stop();
  dynamo?.destroy();
}, 60_000);

const memberships = async () =>
  (await scanAll(dynamo, stack.tableNames.Subscriptions)).map((item) => item.channelPartition.split('#')[0]).sort();

function open(query: string): Promise<{ socket: WebSocket; received: string[] } | { refused: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${stack.webSocketUrl}${query}`);
    const received: string[] = [];
    socket.on('message', (data) => received.push(data.toString('utf8')));
    socket.once('open', () => {
      sockets.push(socket);
      resolve({ socket, received });
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve({ refused: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once('error', (error) => (socket.readyState === WebSocket.CLOSED ? undefined : reject(error)));
  });
}

async function ask(client: { socket: WebSocket; received: string[] }, action: string, channel: string) {
  const before = client.received.length;
  client.socket.send(JSON.stringify({ action, channel }));
  await waitUntil(() => client.received.length > before);
  return JSON.parse(client.received[before]);
}

test("?channels= outside the authorizer's patterns refuses the connection; inside, they are joined and the patterns kept", async () => {
  expect(await open('?token=room-*&channels=room-1,lobby')).toEqual({ refused: 400 });
  expect(await memberships()).toEqual([]);

  const client = await open('?token=room-*,lobby&channels=room-1,lobby');
  if (!('socket' in client)) throw new Error(`refused: ${client.refused}`);
  expect(await memberships()).toEqual(['lobby', 'room-1']);
  const rows = await scanAll(dynamo, stack.tableNames.Connections);
  expect(rows).toHaveLength(1);
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: stack.tableNames.Connections,
      Key: { partition: partitionOf(rows[0].connectionId, PARTITIONS), connectionId: rows[0].connectionId },
    }),
  );
  expect(Item?.allowedChannels).toEqual(['room-*', 'lobby']);

  // Later subscribes are held to the same patterns.
  expect(await ask(client, 'subscribe', 'room-2')).toEqual({ action: 'subscribe', channel: 'room-2', ok: true });
  expect(await ask(client, 'subscribe', 'vip')).toEqual({
    action: 'subscribe',
    channel: 'vip',
    ok: false,
    error: 'the authorizer does not let this connection join "vip"',
  });
  expect(await memberships()).toEqual(['lobby', 'room-1', 'room-2']);
}, 60_000);

test('an authorizer without allowedChannels sets no limit', async () => {
  const client = await open('?token=any&channels=vip');
  if (!('socket' in client)) throw new Error(`refused: ${client.refused}`);
  expect(await ask(client, 'subscribe', 'anything')).toMatchObject({ ok: true });
  expect(await memberships()).toEqual(expect.arrayContaining(['vip', 'anything']));
}, 60_000);

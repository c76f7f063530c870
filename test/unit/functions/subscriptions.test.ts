/** The subscribe/unsubscribe function's decisions: what it answers for each message, and which writes it makes. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../functions/subscriptions';

const dynamo = mockClient(DynamoDBDocumentClient);
beforeEach(() => dynamo.reset());

const event = (body: string) =>
  ({
    body,
    requestContext: { connectionId: 'Conn1=', routeKey: 'subscribe' },
  }) as unknown as APIGatewayProxyWebsocketEventV2;
const answer = async (body: string) => JSON.parse(((await handler(event(body))) as { body: string }).body);

it.each([
  ['not json', 'the message must be JSON: {"action":"subscribe","channel":"name"}'],
  ['{"action":"join","channel":"a"}', '"action" must be "subscribe" or "unsubscribe", not "join"'],
  ['{"action":"subscribe"}', '"channel" undefined is not a channel name'],
  ['{"action":"subscribe","channel":"a b"}', '"channel" "a b" is not a channel name'],
])('%s is answered ok:false, saying what is allowed, and writes nothing', async (body, error) => {
  const answered = await answer(body);
  expect(answered.ok).toBe(false);
  expect(answered.error).toContain(error);
  expect(dynamo.calls()).toHaveLength(0);
});

it('subscribe: the row first (its set, checked against the maximum), then the membership with the row expiry', async () => {
  dynamo.on(GetCommand).resolves({ Item: {} });
  dynamo.on(UpdateCommand).resolves({ Attributes: { expiresAt: 1234 } });
  dynamo.on(PutCommand).resolves({});

  expect(await answer('{"action":"subscribe","channel":"room-1"}')).toEqual({
    action: 'subscribe',
    channel: 'room-1',
    ok: true,
  });
  const update = dynamo.commandCalls(UpdateCommand)[0].args[0].input;
  expect(update.UpdateExpression).toBe('ADD #channels :channel');
  expect(update.ExpressionAttributeValues).toMatchObject({ ':max': 10, ':name': 'room-1' });
  const put = dynamo.commandCalls(PutCommand)[0].args[0].input;
  expect(put.Item).toEqual({
    channelPartition: expect.stringMatching(/^room-1#\d$/),
    connectionId: 'Conn1=',
    expiresAt: 1234,
  });
});

it('subscribe of a connection with no row: ok:false, no membership written', async () => {
  dynamo.on(GetCommand).resolves({});
  expect(await answer('{"action":"subscribe","channel":"room-1"}')).toMatchObject({
    ok: false,
    error: 'this connection is not registered (it is closing, or expired)',
  });
  expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
});

it('unsubscribe: the membership first, then the row; a row gone meanwhile is ok:false', async () => {
  dynamo.on(DeleteCommand).resolves({});
  dynamo.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no row', $metadata: {} }));
  expect(await answer('{"action":"unsubscribe","channel":"room-1"}')).toMatchObject({ ok: false });
  expect(dynamo.commandCalls(DeleteCommand)).toHaveLength(1);
  expect(dynamo.commandCalls(UpdateCommand)[0].args[0].input.UpdateExpression).toBe('DELETE #channels :channel');
});

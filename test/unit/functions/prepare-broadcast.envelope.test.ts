/**
 * The opt-in broadcast-id envelope (infra/config.ts broadcastIdEnvelope): Prepare stores the
 * frame clients get, so consumers send it as it is and a replay sends the same frame.
 */
import { mockClient } from 'aws-sdk-client-mock';
import { resolveConfig } from '../../../infra/config';
import { settingEnvironment } from '#commons/settings';

/** What Prepare PUT, when loaded (as at a cold start) with BROADCAST_ID_ENVELOPE=`envelope`. */
async function prepareWithEnvelope(envelope: '0' | '1', message: string) {
  process.env.BROADCAST_ID_ENVELOPE = envelope;
  let prepare!: typeof import('../../../functions/prepare-broadcast').handler;
  let puts!: () => Record<string, unknown>[];
  // A fresh module graph reads the variable again; its own SDK classes need their own mock.
  jest.isolateModules(() => {
    const { DynamoDBDocumentClient, PutCommand } = require('@aws-sdk/lib-dynamodb');
    const dynamo = mockClient(DynamoDBDocumentClient);
    dynamo.on(PutCommand).resolves({});
    puts = () => dynamo.commandCalls(PutCommand).map((c) => c.args[0].input.Item);
    prepare = require('../../../functions/prepare-broadcast').handler;
  });
  try {
    const outcome = await prepare({ input: { message }, executionName: 'b-7' }).then(
      () => undefined,
      (error: Error) => error,
    );
    return {
      error: outcome,
      stored: puts().find((item) => item.item === 'message')?.message as string | undefined,
      puts: puts(),
    };
  } finally {
    process.env.BROADCAST_ID_ENVELOPE = '0';
  }
}

test('on: every frame is {"broadcastId", "message"}; off: the bare message', async () => {
  const on = await prepareWithEnvelope('1', 'hello');
  expect(JSON.parse(on.stored!)).toEqual({ broadcastId: 'b-7', message: 'hello' });

  const off = await prepareWithEnvelope('0', 'hello');
  expect(off.stored).toBe('hello');
});

test('on: a message that fits alone but not in its frame is refused in one line, nothing stored', async () => {
  const refused = await prepareWithEnvelope('1', 'x'.repeat(128 * 1024 - 10));

  expect(refused.error?.message).toBe(
    '"message" in its broadcast-id envelope is 131,096 bytes; a WebSocket message can carry at most 131,072 bytes (128 KB): shorten the message by 24 bytes',
  );
  expect(refused.puts).toHaveLength(0);
});

test('the setting is off unless set, reaches Prepare as 0/1, and only true or false is allowed', () => {
  expect(settingEnvironment(resolveConfig(), ['broadcastIdEnvelope']).BROADCAST_ID_ENVELOPE).toBe('0');
  expect(
    settingEnvironment(resolveConfig({ broadcastIdEnvelope: true }), ['broadcastIdEnvelope']).BROADCAST_ID_ENVELOPE,
  ).toBe('1');
  expect(() => resolveConfig({ broadcastIdEnvelope: 'yes' })).toThrow(
    'swarmcast setting broadcastIdEnvelope="yes" must be true or false',
  );
});

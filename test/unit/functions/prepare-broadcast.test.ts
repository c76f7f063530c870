import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handler as prepare } from '../../../functions/prepare-broadcast';
import { parseBroadcastRequest } from '#commons/broadcast-request';
import { InvalidBroadcastError } from '#commons/errors';

const dynamo = mockClient(DynamoDBDocumentClient);
beforeEach(() => dynamo.reset());

describe('parseBroadcastRequest', () => {
  it.each([
    [null, /must be a JSON object/],
    [[1], /must be a JSON object/],
    [{}, /"message" is required/],
    [{ message: '' }, /"message" is required/],
    [{ message: 'hi', extra: 1 }, /unknown field\(s\) "extra"/],
    [{ kind: 'shout', message: 'x' }, /"kind" must be "message" or "sweep"/],
    [{ kind: 'sweep', message: 'x' }, /unknown field\(s\) "message"/],
    [{ broadcastId: 'b1' }, /"partitions" must be a non-empty list of distinct partition numbers from 0 to 2499/],
    [{ broadcastId: 'b1', partitions: [1, 2500] }, /"partitions" has 2500/],
    [{ broadcastId: 'b1', partitions: [4, 4] }, /lists a partition twice/],
    [{ broadcastId: 'no spaces', partitions: [1] }, /"broadcastId" must be 1–80 letters/],
  ])('rejects %j with a message that says what is allowed', (input, message) => {
    expect(() => parseBroadcastRequest(input, 2_500)).toThrow(InvalidBroadcastError);
    expect(() => parseBroadcastRequest(input, 2_500)).toThrow(message);
  });

  it('rejects a message over 128 KB, saying the size and the limit', () => {
    expect(() => parseBroadcastRequest({ message: 'x'.repeat(128 * 1024 + 1) }, 10)).toThrow(
      '"message" is 131,073 bytes; a WebSocket message can carry at most 131,072 bytes (128 KB)',
    );
    expect(parseBroadcastRequest({ message: 'x'.repeat(128 * 1024) }, 10)).toEqual({
      kind: 'message',
      message: 'x'.repeat(128 * 1024),
    });
  });

  it('sends text as is and serializes JSON values', () => {
    expect(parseBroadcastRequest({ message: 'hello' }, 10)).toEqual({ kind: 'message', message: 'hello' });
    expect(parseBroadcastRequest({ message: { type: 'news', n: 1 } }, 10)).toEqual({
      kind: 'message',
      message: '{"type":"news","n":1}',
    });
  });

  it('reads a failed-sockets replay, with or without partitions, and refuses a failedSockets that is not a boolean', () => {
    expect(parseBroadcastRequest({ broadcastId: 'b-1', failedSockets: true }, 10)).toEqual({
      kind: 'replay',
      broadcastId: 'b-1',
      failedSockets: true,
    });
    expect(parseBroadcastRequest({ broadcastId: 'b-1', failedSockets: true, partitions: [4] }, 10)).toEqual({
      kind: 'replay',
      broadcastId: 'b-1',
      partitions: [4],
      failedSockets: true,
    });
    expect(() => parseBroadcastRequest({ broadcastId: 'b-1', failedSockets: 'yes' }, 10)).toThrow(
      '"failedSockets" must be true or false, not "yes"',
    );
    expect(() => parseBroadcastRequest({ broadcastId: 'b-1' }, 10)).toThrow(/"partitions" must be a non-empty list/);
  });

  it('reads a replay and a sweep', () => {
    expect(parseBroadcastRequest({ broadcastId: 'b-1', partitions: [9, 3] }, 10)).toEqual({
      kind: 'replay',
      broadcastId: 'b-1',
      partitions: [3, 9],
      failedSockets: false,
    });
    expect(parseBroadcastRequest({ kind: 'sweep' }, 10)).toEqual({ kind: 'sweep' });
  });
});

describe('prepare-broadcast', () => {
  it('rejects bad input before touching any table', async () => {
    await expect(prepare({ input: { mesage: 'typo' }, executionName: 'b1' })).rejects.toThrow(
      /unknown field\(s\) "mesage"/,
    );
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('stores the message and the plan under the execution name and lists every partition, whatever the counters say', async () => {
    dynamo.on(PutCommand).resolves({});

    const prepared = await prepare({ input: { message: 'hello' }, executionName: 'b-42' });

    expect(prepared).toMatchObject({ broadcastId: 'b-42', kind: 'message' });
    expect(prepared.partitions).toEqual(Array.from({ length: 2_500 }, (_, p) => p));
    expect(prepared.config).toEqual({
      maxConcurrency: 40,
      partitionsPerChild: 25,
      toleratedFailurePercentage: 1,
      toleratedFailedSocketsPercentage: 0,
      progressPollSeconds: 2,
    });
    const [message, plan] = dynamo.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(message.Item).toMatchObject({ broadcastId: 'b-42', item: 'message', kind: 'message', message: 'hello' });
    expect(message.ConditionExpression).toBe('attribute_not_exists(#id)');
    expect(plan.Item).toMatchObject({
      broadcastId: 'b-42',
      item: 'plan',
      kind: 'message',
      partitionCount: 2_500,
      deliveryTimeoutMs: 900_000,
    });
    // until ReadProgress knows the last enqueue, the deadline counts from the start
    expect(plan.Item!.deliverBy).toBe(plan.Item!.startedAt + 900_000);
    expect(dynamo.commandCalls(ScanCommand)).toHaveLength(0);
  });

  it('a retried Prepare finds its own record and goes on with it', async () => {
    const { ConditionalCheckFailedException } = await import('@aws-sdk/client-dynamodb');
    dynamo
      .on(PutCommand, { ConditionExpression: 'attribute_not_exists(#id)' })
      .rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    dynamo.on(PutCommand, { Item: { item: 'plan' } }).resolves({});
    dynamo
      .on(GetCommand)
      .resolves({ Item: { broadcastId: 'b-42', item: 'message', kind: 'message', message: 'hello' } });
    await expect(prepare({ input: { message: 'hello' }, executionName: 'b-42' })).resolves.toMatchObject({
      broadcastId: 'b-42',
      kind: 'message',
    });
  });

  it('a different broadcast under an existing id is refused', async () => {
    const { ConditionalCheckFailedException } = await import('@aws-sdk/client-dynamodb');
    dynamo.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    dynamo
      .on(GetCommand)
      .resolves({ Item: { broadcastId: 'b-42', item: 'message', kind: 'message', message: 'other' } });
    await expect(prepare({ input: { message: 'hello' }, executionName: 'b-42' })).rejects.toThrow(
      /broadcast b-42 already exists/,
    );
  });

  it("a channel broadcast stores its channel and lists the channel's partitions, not the connection partitions", async () => {
    dynamo.on(PutCommand).resolves({});
    const prepared = await prepare({ input: { message: 'hi', channel: 'room-1' }, executionName: 'b-7' });
    expect(prepared).toMatchObject({ broadcastId: 'b-7', kind: 'message', channel: 'room-1' });
    expect(prepared.partitions).toEqual(Array.from({ length: 10 }, (_, p) => p));
    const [message, plan] = dynamo.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(message.Item).toMatchObject({ message: 'hi', channel: 'room-1' });
    expect(plan.Item).toMatchObject({ channel: 'room-1', partitionCount: 10 });
    // A full broadcast says so too: the map's BatchInput reads $.channel either way.
    dynamo.reset();
    dynamo.on(PutCommand).resolves({});
    expect(await prepare({ input: { message: 'hi' }, executionName: 'b-8' })).toMatchObject({ channel: null });
  });

  it('a bad channel name fails before any table is touched', async () => {
    await expect(prepare({ input: { message: 'hi', channel: 'no spaces' }, executionName: 'b-9' })).rejects.toThrow(
      '"channel" "no spaces" is not a channel name',
    );
    expect(dynamo.calls()).toHaveLength(0);
  });

  it("a replay of a channel broadcast visits the channel's partitions and keeps its channel", async () => {
    dynamo.on(GetCommand).resolves({
      Item: {
        broadcastId: 'b-7',
        item: 'plan',
        kind: 'message',
        channel: 'room-1',
        partitionCount: 10,
        startedAt: 1,
        deliveryTimeoutMs: 900_000,
      },
    });
    dynamo.on(UpdateCommand).resolves({});
    dynamo.on(QueryCommand).resolves({ Items: [] });
    const prepared = await prepare({
      input: { broadcastId: 'b-7', failedSockets: true },
      executionName: 'b-7-replay-1',
    });
    expect(prepared).toMatchObject({ channel: 'room-1', partitions: Array.from({ length: 10 }, (_, p) => p) });
    expect(dynamo.commandCalls(UpdateCommand)[0].args[0].input.ExpressionAttributeValues![':count']).toBe(10);
    await expect(
      prepare({ input: { broadcastId: 'b-7', partitions: [12] }, executionName: 'b-7-replay-2' }),
    ).rejects.toThrow(`broadcast b-7 went to channel "room-1", whose partitions are 0 to 9; there is no partition 12`);
  });

  it('a sweep visits every partition, whatever the counters say', async () => {
    dynamo.on(PutCommand).resolves({});
    const prepared = await prepare({ input: { kind: 'sweep' }, executionName: 's-1' });
    expect(prepared.kind).toBe('sweep');
    expect(prepared.partitions).toHaveLength(2_500);
    expect(dynamo.commandCalls(ScanCommand)).toHaveLength(0);
  });

  it('a replay adds its partitions to the existing broadcast and keeps its id', async () => {
    dynamo.on(GetCommand).resolves({
      Item: {
        broadcastId: 'b-42',
        item: 'plan',
        kind: 'message',
        partitionCount: 2_500,
        startedAt: 1,
        deliveryTimeoutMs: 900_000,
      },
    });
    dynamo.on(UpdateCommand).resolves({});
    dynamo.on(QueryCommand).resolves({
      Items: [
        { broadcastId: 'b-42', item: 'count#enqueued#0000', p0: 5 },
        { broadcastId: 'b-42', item: 'count#delivered#00', delivered: 5, gone: 0, failed: 0 },
      ],
    });
    const prepared = await prepare({ input: { broadcastId: 'b-42', partitions: [4] }, executionName: 'b-42-replay-1' });
    expect(prepared).toMatchObject({ broadcastId: 'b-42', kind: 'message', partitions: [4] });
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
    // the replay restarts the clock, its deadline with it, on the small plan item only
    const update = dynamo.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update).toMatchObject({
      Key: { broadcastId: 'b-42', item: 'plan' },
      UpdateExpression: 'SET partitionCount = :count, startedAt = :startedAt, deliverBy = :deliverBy',
    });
    expect(update.ExpressionAttributeValues![':deliverBy']).toBe(
      update.ExpressionAttributeValues![':startedAt'] + 900_000,
    );
  });

  it('a replay of a broadcast still delivering is refused in one line, and nothing is written', async () => {
    dynamo.on(GetCommand).resolves({
      Item: {
        broadcastId: 'b-42',
        item: 'plan',
        kind: 'message',
        partitionCount: 2_500,
        startedAt: Date.now() - 5_000,
        deliveryTimeoutMs: 900_000,
      },
    });
    dynamo.on(QueryCommand).resolves({
      Items: [
        { broadcastId: 'b-42', item: 'count#enqueued#0000', p0: 4_000 },
        { broadcastId: 'b-42', item: 'count#delivered#00', delivered: 1_376, gone: 0, failed: 0 },
      ],
    });

    const refused = prepare({ input: { broadcastId: 'b-42', partitions: [4] }, executionName: 'b-42-replay-1' });

    await expect(refused).rejects.toMatchObject({
      name: 'InvalidBroadcastError',
      message:
        'broadcast b-42 is still delivering (1,376 of 4,000 sockets accounted for); replay it once it has ended (swarmcast status b-42 --watch)',
    });
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('a replay of an unknown broadcast fails with BroadcastNotFoundError', async () => {
    dynamo.on(GetCommand).resolves({});
    dynamo.on(QueryCommand).resolves({ Items: [] });
    await expect(
      prepare({ input: { broadcastId: 'nope', partitions: [1] }, executionName: 'x' }),
    ).rejects.toMatchObject({ name: 'BroadcastNotFoundError' });
  });
});

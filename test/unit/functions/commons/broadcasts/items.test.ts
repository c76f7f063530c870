import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type PutCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { addDeliveryCounts, recordEnqueued } from '#commons/broadcasts/counts';
import { createBroadcast, getBroadcastPayload } from '#commons/broadcasts/plan';
import { DELIVERY_COUNT_SHARDS } from '#commons/broadcasts/items';
import { markTasksDone } from '#commons/broadcasts/done-marks';
import { AWS_LIMITS } from '#commons/aws-limits';
import { MAX_MESSAGE_BYTES } from '#commons/constants';

const dynamo = mockClient(DynamoDBDocumentClient);
beforeEach(() => {
  dynamo.reset();
  jest.restoreAllMocks();
});

/** DynamoDB's item size rules: attribute names plus values; numbers ~1 byte per 2 significant digits + 1; maps and lists 3 bytes + 1 per element. */
function attributeValueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|^0+|0+$/g, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, element) => sum + 1 + attributeValueBytes(element), 0);
  if (value.M !== undefined)
    return (
      3 +
      Object.entries(value.M).reduce(
        (sum, [name, element]) => sum + 1 + Buffer.byteLength(name) + attributeValueBytes(element),
        0,
      )
    );
  throw new Error(`unsized attribute type ${Object.keys(value).join()}`);
}
const itemBytes = (item: Record<string, unknown>) =>
  Object.entries(marshall(item, { removeUndefinedValues: true })).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + attributeValueBytes(value),
    0,
  );

/** Applies the SET and ADD clauses swarmcast writes to an in-memory table, so the test sees the items as DynamoDB would hold them. */
class ItemStore {
  readonly items = new Map<string, Record<string, unknown>>();
  /** Items an UpdateItem touched: the ones written while a broadcast delivers. */
  readonly updated = new Set<string>();

  put({ Item }: PutCommandInput): void {
    this.items.set(this.keyOf(Item!), { ...Item });
  }

  update({
    Key,
    UpdateExpression,
    ExpressionAttributeNames = {},
    ExpressionAttributeValues = {},
  }: UpdateCommandInput): void {
    const id = this.keyOf(Key!);
    const item = this.items.get(id) ?? { ...Key };
    const name = (token: string) => ExpressionAttributeNames[token] ?? token;
    for (const [, action, body] of UpdateExpression!.matchAll(/(SET|ADD) (.*?)(?= SET | ADD |$)/g)) {
      for (const clause of body.split(', ')) {
        const [target, value] = action === 'SET' ? clause.split(' = ') : clause.split(' ');
        const given = ExpressionAttributeValues[value];
        item[name(target)] = action === 'ADD' ? ((item[name(target)] as number) ?? 0) + (given as number) : given;
      }
    }
    this.items.set(id, item);
    this.updated.add(id);
  }

  private keyOf(item: Record<string, unknown>): string {
    return `${item.broadcastId}/${item.item}`;
  }
}

test('at 10,000 partitions and a 128 KB message, every item updated during delivery stays under 1 KB', async () => {
  const store = new ItemStore();
  dynamo.on(PutCommand).callsFake((input: PutCommandInput) => store.put(input));
  dynamo.on(UpdateCommand).callsFake((input: UpdateCommandInput) => store.update(input));
  const broadcastId = 'b'.repeat(80); // the longest id the request allows
  const partitionCount = AWS_LIMITS.distributedMapMaxConcurrency.value; // = the partitions bound, 10,000

  await createBroadcast('Broadcasts', {
    broadcastId,
    kind: 'message',
    message: 'x'.repeat(MAX_MESSAGE_BYTES),
    partitionCount,
    startedAt: Date.now(),
    deliveryTimeoutMs: 86_400_000,
  });
  // Each map child records its batch (25 partitions); counts as large as a partition ever holds.
  for (let first = 0; first < partitionCount; first += 25) {
    const batch = Array.from({ length: 25 }, (_, i): [number, number] => [first + i, 1_000_000 + first + i]);
    await recordEnqueued('Broadcasts', broadcastId, new Map(batch));
  }
  for (let shard = 0; shard < DELIVERY_COUNT_SHARDS; shard++) {
    for (let write = 0; write < 50; write++)
      await addDeliveryCounts(
        'Broadcasts',
        broadcastId,
        { delivered: 123_456_789, gone: 98_765, failed: 4_321 },
        Date.now(),
        shard,
      );
  }

  const sizes = new Map([...store.items].map(([id, item]) => [id, itemBytes(item)]));
  const updated = [...store.updated];
  // the enqueued-count groups, the delivery count shards, and the plan (each enqueue moves its deadline)
  expect(updated).toHaveLength(Math.ceil(partitionCount / 64) + DELIVERY_COUNT_SHARDS + 1);
  const largestUpdated = Math.max(...updated.map((id) => sizes.get(id)!));
  expect(largestUpdated).toBeLessThan(1024);
  // Every partition's count is there, once.
  const recorded = updated.flatMap((id) => Object.keys(store.items.get(id)!).filter((name) => /^p\d+$/.test(name)));
  expect(new Set(recorded).size).toBe(partitionCount);
  // The message item is written once and never updated; everything else is small too.
  expect(store.updated.has(`${broadcastId}/message`)).toBe(false);
  expect(sizes.get(`${broadcastId}/message`)).toBeGreaterThan(MAX_MESSAGE_BYTES);
  expect(sizes.get(`${broadcastId}/message`)).toBeLessThan(AWS_LIMITS.dynamoDbItemBytes.value);
  expect(sizes.get(`${broadcastId}/plan`)).toBeLessThan(1024);
});

describe('throttled reads and writes of the broadcast items', () => {
  const throttled = () =>
    Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
      name: 'ProvisionedThroughputExceededException',
    });
  beforeEach(() => jest.spyOn(Math, 'random').mockReturnValue(0)); // no backoff waits

  /** The enqueued-count writes of recordEnqueued; its plan write (the deadline) is answered apart. */
  const countWrites = () =>
    dynamo.commandCalls(UpdateCommand).filter((call) => call.args[0].input.Key!.item !== 'plan');
  const answerPlanWrites = () => dynamo.on(UpdateCommand, { Key: { item: 'plan' } }).resolves({});

  test('recordEnqueued retries a throttled write and succeeds', async () => {
    let throttles = 2;
    dynamo.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
      if (input.Key!.item !== 'plan' && throttles-- > 0) throw throttled();
      return {};
    });
    await recordEnqueued('Broadcasts', 'b1', new Map([[3, 10]]));
    expect(countWrites()).toHaveLength(3);
  });

  test('recordEnqueued still throttled after its tries ends in ThrottledError, which the map child retries', async () => {
    dynamo.on(UpdateCommand).rejects(throttled());
    answerPlanWrites();
    await expect(recordEnqueued('Broadcasts', 'b1', new Map([[3, 10]]))).rejects.toMatchObject({
      name: 'ThrottledError',
      message: expect.stringContaining('broadcast b1'),
    });
    expect(countWrites()).toHaveLength(4);
  });

  test('an error that is not throttling is not retried', async () => {
    dynamo.on(UpdateCommand).rejects(Object.assign(new Error('bad'), { name: 'ValidationException' }));
    answerPlanWrites();
    await expect(recordEnqueued('Broadcasts', 'b1', new Map([[3, 10]]))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    expect(countWrites()).toHaveLength(1);
  });

  test('a throttled payload read is retried, then classified as ThrottledError', async () => {
    dynamo
      .on(GetCommand)
      .rejectsOnce(throttled())
      .resolves({ Item: { kind: 'message', message: 'hi' } });
    await expect(getBroadcastPayload('Broadcasts', 'b1')).resolves.toEqual({ kind: 'message', message: 'hi' });
    dynamo.reset();
    dynamo.on(GetCommand).rejects(throttled());
    await expect(getBroadcastPayload('Broadcasts', 'b1')).rejects.toMatchObject({ name: 'ThrottledError' });
  });
});

describe('done marks (markTasksDone)', () => {
  it('each mark expires with the broadcast record, so marks never pile up', async () => {
    // prepare: 30 finished tasks: two BatchWriteItem calls
    dynamo.on(BatchWriteCommand).resolves({});
    const tasks = Array.from({ length: 30 }, (_, i) => ({ broadcastId: 'b1', messageId: `m${i}` }));

    // act
    await markTasksDone('Broadcasts', tasks, 1_000_000);

    // assess
    const items = dynamo
      .commandCalls(BatchWriteCommand)
      .flatMap((call) => call.args[0].input.RequestItems!.Broadcasts.map((request) => request.PutRequest!.Item!));
    expect(items).toHaveLength(30);
    for (const item of items)
      expect(item).toMatchObject({
        broadcastId: 'b1',
        item: expect.stringMatching(/^done#m\d+$/),
        expiresAt: 1_000 + 15 * 24 * 60 * 60,
      });
  });
});

import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { packDeliveryTasks, parseDeliveryTask, sendDeliveryTasks, shardFor } from '#commons/delivery-tasks';
import { MAX_SQS_MESSAGE_BYTES } from '#commons/constants';

const sqs = mockClient(SQSClient);
beforeEach(() => sqs.reset());

const ids = (n: number) => Array.from({ length: n }, (_, i) => `conn-${String(i).padStart(6, '0')}=`);

describe('packDeliveryTasks', () => {
  it('cuts at the configured number of ids per message', () => {
    const tasks = packDeliveryTasks('b1', 7, ids(1_201), 500);
    expect(tasks.map((t) => t.connectionIds.length)).toEqual([500, 500, 201]);
    expect(tasks[0]).toMatchObject({ broadcastId: 'b1', partition: 7, attempt: 0 });
    expect(tasks.flatMap((t) => t.connectionIds)).toEqual(ids(1_201));
  });

  it('never builds a message over the size limit, whatever the id count allows', () => {
    const tasks = packDeliveryTasks('b1', 0, ids(10_000), 1_000_000, 16 * 1024);
    expect(tasks.length).toBeGreaterThan(1);
    for (const task of tasks) expect(Buffer.byteLength(JSON.stringify(task))).toBeLessThanOrEqual(16 * 1024);
  });

  it("a run's first task of a partition carries the whole partition's count, the others none: a consumer records it if the fan-out's write was lost", () => {
    const tasks = packDeliveryTasks('b1', 7, ids(1_201), 500, undefined, 'run-1');
    expect(tasks.map((t) => t.enqueued)).toEqual([1_201, undefined, undefined]);
    expect(tasks.every((t) => t.run === 'run-1')).toBe(true);
    // A replay's tasks have no run: they claim nothing and carry no count.
    expect(packDeliveryTasks('b1', 7, ids(3), 500)[0]).not.toHaveProperty('enqueued');
  });

  it('makes no task for an empty partition', () => {
    expect(packDeliveryTasks('b1', 0, [], 500)).toEqual([]);
  });
});

describe('shardFor', () => {
  it.each([2, 3, 10])(
    'a retry starts one shard further than the attempt before (%i shards), so it does not wait behind that backlog',
    (shards) => {
      for (const partition of [0, 7, 2_499]) {
        for (const attempt of [0, 1, 4])
          expect(shardFor(partition, attempt + 1) % shards).toBe((shardFor(partition, attempt) + 1) % shards);
      }
    },
  );
});

describe('parseDeliveryTask', () => {
  it('rejects a malformed body, saying the expected shape', () => {
    expect(() => parseDeliveryTask('not json')).toThrow('message body is not JSON');
    expect(() => parseDeliveryTask('{"broadcastId":"b"}')).toThrow(/must be \{broadcastId: string, partition: integer/);
  });
});

describe('sendDeliveryTasks', () => {
  const queues = ['q0', 'q1', 'q2'];

  it('spreads tasks over the shards in batches of at most 10', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const tasks = packDeliveryTasks('b1', 0, ids(45), 1);

    await sendDeliveryTasks(tasks, queues, 1);

    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(calls.every((c) => c.Entries!.length <= 10)).toBe(true);
    const perQueue = Object.fromEntries(
      queues.map((q) => [q, calls.filter((c) => c.QueueUrl === q).reduce((n, c) => n + c.Entries!.length, 0)]),
    );
    expect(perQueue).toEqual({ q0: 15, q1: 15, q2: 15 });
  });

  it("cuts a shard's entries into SendMessageBatch calls of at most 1 MiB together, every task sent once", async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
    // Ten tasks of ~300 KB each for one queue: 10 entries fit the count limit, not the 1 MiB one.
    const bigIds = Array.from({ length: 10 * 10_000 }, (_, i) => `${'x'.repeat(24)}${String(i).padStart(6, '0')}=`);
    const tasks = packDeliveryTasks('b1', 0, bigIds, 10_000);
    expect(tasks).toHaveLength(10);

    const unsent = await sendDeliveryTasks(tasks, ['q0'], 0);

    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!);
    const sizes = calls.map((entries) =>
      entries.reduce((bytes, entry) => bytes + Buffer.byteLength(entry.MessageBody!), 0),
    );
    expect(unsent.size).toBe(0);
    expect(calls.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_SQS_MESSAGE_BYTES);
    expect(
      calls
        .flat()
        .map((entry) => entry.Id)
        .sort((a, b) => Number(a) - Number(b)),
    ).toEqual(tasks.map((_, index) => String(index)));
  });

  it('sends again exactly the entries SQS reported in Failed[]', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] })
      .resolves({ Failed: [] });

    await sendDeliveryTasks(packDeliveryTasks('b1', 0, ids(3), 1), ['q0'], 0);

    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1].args[0].input.Entries!.map((e) => e.Id)).toEqual(['1']);
    expect(JSON.parse(calls[1].args[0].input.Entries![0].MessageBody!).connectionIds).toEqual([ids(3)[1]]);
  });

  it('reports exactly the tasks SQS kept refusing, after 5 attempts, and sends the rest', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(({ Entries }) => ({
      Failed: Entries.filter((e: { Id: string }) => e.Id === '1').map((e: { Id: string }) => ({
        Id: e.Id,
        Code: 'InternalError',
        SenderFault: false,
      })),
    }));
    const unsent = await sendDeliveryTasks(packDeliveryTasks('b1', 0, ids(3), 1), ['q0'], 0);
    expect([...unsent]).toEqual([1]);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(5);
  });

  it('a SendMessageBatch call that fails outright leaves its entries unsent, not the whole send', async () => {
    sqs.on(SendMessageBatchCommand, { QueueUrl: 'q1' }).rejects(new Error('socket hang up'));
    sqs.on(SendMessageBatchCommand, { QueueUrl: 'q0' }).resolves({ Failed: [] });
    const unsent = await sendDeliveryTasks(packDeliveryTasks('b1', 0, ids(4), 1), ['q0', 'q1'], 0);
    expect([...unsent].sort()).toEqual([1, 3]);
  });
});

import { ApiGatewayManagementApiClient, GetConnectionCommand, GoneException } from '@aws-sdk/client-apigatewaymanagementapi';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { ConnectionPoster, PostOutcome } from '#commons/clients/management-api';
import { DeliveryService, DeliveryTally, settleConnections } from '#commons/delivery';
import { PostRejectedError } from '#commons/clients/management-api';
import { ConcurrencyLimit } from '#commons/helpers/concurrency';
import { answerDeletes, answerUpdates } from './helpers/dynamodb-answers';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const managementApi = mockClient(ApiGatewayManagementApiClient);

/** A poster whose answer per connection id the test decides; it records every call. */
function fakePoster(outcomes: Record<string, (PostOutcome | 'reject')[]>) {
  const calls: string[] = [];
  const poster = {
    post: async (connectionId: string) => {
      calls.push(connectionId);
      const outcome = outcomes[connectionId]?.shift() ?? 'delivered';
      if (outcome === 'reject') throw new PostRejectedError(403, 'ForbiddenException', 'PostToConnection answered 403');
      return outcome;
    },
  } as unknown as ConnectionPoster;
  return { poster, calls };
}

const settings = {
  tables: { connections: 'Connections', partitions: 'Partitions', broadcasts: 'Broadcasts' },
  shardQueueUrls: ['q0', 'q1'],
  postConcurrency: 4,
  maxDeliveryAttempts: 3,
  retriesPerInvocation: 1,
  retryBaseMs: 1,
};

beforeEach(() => {
  dynamo.reset();
  sqs.reset();
  managementApi.reset();
  dynamo.on(GetCommand).resolves({ Item: { kind: 'message', message: 'hello' } });
  answerUpdates(dynamo);
  sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
});

async function deliverAndFlush(poster: ConnectionPoster, task: { broadcastId: string; partition: number; attempt: number; connectionIds: string[] }) {
  const tally = new DeliveryTally('Broadcasts');
  await new DeliveryService(settings, poster, new ApiGatewayManagementApiClient({})).deliver(task, tally, new ConcurrencyLimit(4));
  await tally.flush();
}

const countsWritten = () => dynamo.commandCalls(UpdateCommand).map((c) => c.args[0].input).filter((i) => i.TableName === 'Broadcasts');

describe('DeliveryService', () => {
  it('adds the counts of a whole batch in one write per broadcast', async () => {
    const { poster } = fakePoster({ x: ['gone'] });
    answerDeletes(dynamo, [{ connectionId: 'x', partition: 1 }]);
    const tally = new DeliveryTally('Broadcasts');
    const service = new DeliveryService(settings, poster, new ApiGatewayManagementApiClient({}));
    await service.deliver({ broadcastId: 'b1', partition: 1, attempt: 0, connectionIds: ['a', 'x'] }, tally, service.newInvocationLimit());
    await service.deliver({ broadcastId: 'b1', partition: 2, attempt: 0, connectionIds: ['b', 'c'] }, tally, service.newInvocationLimit());
    await tally.flush();
    expect(countsWritten()).toHaveLength(1);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 3, ':gone': 1, ':failed': 0 });
  });

  it('posts to every connection once and adds the counts in one write', async () => {
    const { poster, calls } = fakePoster({});
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b', 'c'] });
    expect(calls.sort()).toEqual(['a', 'b', 'c']);
    expect(countsWritten()).toHaveLength(1);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 3, ':gone': 0, ':failed': 0 });
  });

  it('410 Gone: deletes that connection (not another) and decrements its partition', async () => {
    const { poster } = fakePoster({ b: ['gone'] });
    answerDeletes(dynamo, [{ connectionId: 'b', partition: 3 }]);

    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b', 'c'] });

    const deletes = dynamo.commandCalls(DeleteCommand).map((c) => c.args[0].input.Key);
    expect(deletes).toEqual([{ connectionId: 'b' }]);
    const decrement = dynamo.commandCalls(UpdateCommand).map((c) => c.args[0].input).find((i) => i.TableName === 'Partitions');
    expect(decrement).toMatchObject({ Key: { partition: 3 }, ExpressionAttributeValues: { ':delta': -1 } });
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 2, ':gone': 1, ':failed': 0 });
  });

  it('429 on every try: re-queues only the undelivered ids with the next attempt number', async () => {
    const { poster, calls } = fakePoster({ b: ['retry', 'retry'], d: ['retry', 'retry'] });

    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b', 'c', 'd'] });

    expect(calls.filter((id) => id === 'a' || id === 'c')).toHaveLength(2); // delivered ones are never posted again
    const sent = sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!);
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0].MessageBody!)).toEqual({ broadcastId: 'b1', partition: 3, attempt: 1, connectionIds: ['b', 'd'] });
    expect(sent[0].DelaySeconds).toBeGreaterThan(0);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 2, ':gone': 0, ':failed': 0 });
  });

  it('a throttle that clears on the in-invocation retry is delivered without re-queueing', async () => {
    const { poster } = fakePoster({ b: ['retry', 'delivered'] });
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b'] });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 2 });
  });

  it('after the last attempt the still-throttled ids are counted as failed, not re-queued', async () => {
    const { poster } = fakePoster({ b: ['retry', 'retry'] });
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 2, connectionIds: ['a', 'b'] });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 1, ':failed': 1 });
  });

  it('an answer no retry can fix (403) counts that socket as failed and never fails the message', async () => {
    const { poster, calls } = fakePoster({ b: ['reject'] });
    await deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a', 'b', 'c'] });
    expect(calls.sort()).toEqual(['a', 'b', 'c']);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 2, ':gone': 0, ':failed': 1 });
  });

  it('a message whose broadcast has no text fails before any socket is posted to', async () => {
    dynamo.on(GetCommand).resolves({ Item: { kind: 'message' } });
    const { poster, calls } = fakePoster({});
    await expect(deliverAndFlush(poster, { broadcastId: 'b1', partition: 3, attempt: 0, connectionIds: ['a'] })).rejects.toThrow('broadcast b1 has no message to send');
    expect(calls).toHaveLength(0);
  });

  it('reads the broadcast strongly consistent, once per container', async () => {
    const { poster } = fakePoster({});
    const tally = new DeliveryTally('Broadcasts');
    const service = new DeliveryService(settings, poster, new ApiGatewayManagementApiClient({}));
    await service.deliver({ broadcastId: 'b1', partition: 1, attempt: 0, connectionIds: ['a'] }, tally, service.newInvocationLimit());
    await service.deliver({ broadcastId: 'b1', partition: 2, attempt: 0, connectionIds: ['b'] }, tally, service.newInvocationLimit());
    const reads = dynamo.commandCalls(GetCommand);
    expect(reads).toHaveLength(1);
    expect(reads[0].args[0].input.ConsistentRead).toBe(true);
  });

  it('a sweep checks each connection with GetConnection and removes the gone ones', async () => {
    dynamo.on(GetCommand).resolves({ Item: { kind: 'sweep' } });
    answerDeletes(dynamo, [{ connectionId: 'old', partition: 5 }]);
    managementApi.on(GetConnectionCommand, { ConnectionId: 'old' }).rejects(new GoneException({ message: 'gone', $metadata: { httpStatusCode: 410 } }));
    managementApi.on(GetConnectionCommand, { ConnectionId: 'live' }).resolves({});
    const { poster, calls } = fakePoster({});

    await deliverAndFlush(poster, { broadcastId: 's1', partition: 5, attempt: 0, connectionIds: ['live', 'old'] });

    expect(calls).toHaveLength(0);
    expect(dynamo.commandCalls(DeleteCommand).map((c) => c.args[0].input.Key)).toEqual([{ connectionId: 'old' }]);
    expect(countsWritten()[0].ExpressionAttributeValues).toMatchObject({ ':delivered': 1, ':gone': 1 });
  });
});

describe('settleConnections', () => {
  it('a probe that throws on one socket still lets every other call finish before returning', async () => {
    const finished: string[] = [];
    const probe = async (id: string) => {
      await new Promise((resolve) => setTimeout(resolve, id === 'slow' ? 20 : 1));
      if (id === 'bad') throw new Error('boom');
      finished.push(id);
      return 'delivered' as const;
    };
    const result = await settleConnections(['bad', 'slow', 'ok'], probe, { limit: new ConcurrencyLimit(3), retries: 0, retryBaseMs: 1 });
    expect(finished.sort()).toEqual(['ok', 'slow']);
    expect(result).toMatchObject({ delivered: 2, rejected: 1 });
  });

  it('awaits every call and never has more than the shared limit in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    let finished = 0;
    const probe = async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      finished++;
      return 'delivered' as const;
    };
    const result = await settleConnections(Array.from({ length: 50 }, (_, i) => `c${i}`), probe, { limit: new ConcurrencyLimit(5), retries: 0, retryBaseMs: 1 });
    expect(finished).toBe(50);
    expect(result.delivered).toBe(50);
    expect(peak).toBe(5);
  });
});

import { BatchGetCommand, DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handler as connect } from '../../functions/connect';
import { handler as disconnect } from '../../functions/disconnect';
import { handler as onMessage } from '../../functions/default';
import { queryPartition, removeConnections } from '#commons/connections';
import { answerDeletes } from './helpers/dynamodb-answers';

const dynamo = mockClient(DynamoDBDocumentClient);
beforeEach(() => dynamo.reset());

const wsEvent = (connectionId: string, body?: string) => ({ requestContext: { connectionId }, body }) as never;

describe('$connect', () => {
  it('stores the connection with its partition and a 2-hour expiry, then counts it', async () => {
    dynamo.on(BatchGetCommand).resolves({ Responses: { Partitions: [] } });
    const before = Math.floor(Date.now() / 1000);

    await expect(connect(wsEvent('abc='))).resolves.toMatchObject({ statusCode: 200 });

    const item = dynamo.commandCalls(PutCommand)[0].args[0].input.Item!;
    expect(item.connectionId).toBe('abc=');
    expect(item.partition).toBeGreaterThanOrEqual(0);
    expect(item.partition).toBeLessThan(2_500);
    expect(item.expiresAt - before).toBeGreaterThanOrEqual(7_200);
    expect(item.expiresAt - before).toBeLessThanOrEqual(7_201);
    const update = dynamo.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update.Key).toEqual({ partition: item.partition });
    expect(update.ExpressionAttributeValues).toEqual({ ':delta': 1 });
  });
});

describe('$disconnect', () => {
  it('deletes by key and decrements the partition the row was in', async () => {
    answerDeletes(dynamo, [{ connectionId: 'abc=', partition: 17 }]);
    await disconnect(wsEvent('abc='));
    expect(dynamo.commandCalls(DeleteCommand)[0].args[0].input.Key).toEqual({ connectionId: 'abc=' });
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);
    const update = dynamo.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update.Key).toEqual({ partition: 17 });
    expect(update.ExpressionAttributeValues).toEqual({ ':delta': -1 });
  });

  it('leaves the counter alone when the row was already gone', async () => {
    answerDeletes(dynamo, []);
    await disconnect(wsEvent('abc='));
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});

describe('$default', () => {
  it('answers ping with pong and ignores anything else', async () => {
    await expect(onMessage(wsEvent('a', 'ping'))).resolves.toEqual({ statusCode: 200, body: 'pong' });
    await expect(onMessage(wsEvent('a', '{"hello":1}'))).resolves.toEqual({ statusCode: 200, body: '' });
    await expect(onMessage(wsEvent('a'))).resolves.toEqual({ statusCode: 200, body: '' });
  });
});

describe('queryPartition', () => {
  it('follows pagination and splits out rows past their TTL', async () => {
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ connectionId: 'a', expiresAt: 2_000 }, { connectionId: 'b', expiresAt: 500 }], LastEvaluatedKey: { connectionId: 'b', partition: 3 } })
      .resolvesOnce({ Items: [{ connectionId: 'c', expiresAt: 3_000 }] });

    const result = await queryPartition('Connections', 3, 1_000);

    expect(result).toEqual({ live: ['a', 'c'], expired: ['b'] });
    const calls = dynamo.commandCalls(QueryCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0].args[0].input).toMatchObject({ IndexName: 'byPartition', ExpressionAttributeValues: { ':partition': 3 } });
    expect(calls[1].args[0].input.ExclusiveStartKey).toEqual({ connectionId: 'b', partition: 3 });
  });
});

describe('removeConnections', () => {
  it('when one delete fails, still decrements by the rows really removed, then reports the failure', async () => {
    answerDeletes(dynamo, [{ connectionId: 'a', partition: 2 }]);
    dynamo.on(DeleteCommand, { Key: { connectionId: 'bad' } }).rejects(new Error('InternalServerError'));

    await expect(removeConnections({ connections: 'Connections', partitions: 'Partitions' }, 2, ['a', 'bad', 'b'])).rejects.toThrow('InternalServerError');

    expect(dynamo.commandCalls(DeleteCommand)).toHaveLength(3);
    expect(dynamo.commandCalls(UpdateCommand)[0].args[0].input).toMatchObject({ Key: { partition: 2 }, ExpressionAttributeValues: { ':delta': -1 } });
  });
});

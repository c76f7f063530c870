import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handler as connect } from '../../../../functions/connect';
import { handler as disconnect } from '../../../../functions/disconnect';
import { handler as onMessage } from '../../../../functions/default';
import { queryPartition, removeConnections } from '#commons/connections';
import { partitionOf } from '#commons/partitions';

const dynamo = mockClient(DynamoDBDocumentClient);
beforeEach(() => dynamo.reset());

const wsEvent = (connectionId: string, body?: string) => ({ requestContext: { connectionId }, body }) as never;

describe('$connect', () => {
  it('is one PutItem: the row in the partition its id hashes to, with a 2-hour expiry', async () => {
    dynamo.on(PutCommand).resolves({});
    const before = Math.floor(Date.now() / 1000);

    await expect(connect(wsEvent('abc='))).resolves.toMatchObject({ statusCode: 200 });

    expect(dynamo.calls()).toHaveLength(1);
    const { TableName, Item } = dynamo.commandCalls(PutCommand)[0].args[0].input;
    expect(TableName).toBe('Connections');
    expect(Item).toMatchObject({ partition: partitionOf('abc=', 2_500), connectionId: 'abc=' });
    expect(Item!.expiresAt - before).toBeGreaterThanOrEqual(7_200);
    expect(Item!.expiresAt - before).toBeLessThanOrEqual(7_201);
  });
});

describe('$disconnect', () => {
  it('is one DeleteItem by the key recomputed from the id: no read, no counter', async () => {
    dynamo.on(DeleteCommand).resolves({});

    await disconnect(wsEvent('abc='));

    expect(dynamo.calls()).toHaveLength(1);
    expect(dynamo.commandCalls(DeleteCommand)[0].args[0].input).toMatchObject({
      TableName: 'Connections',
      Key: { partition: partitionOf('abc=', 2_500), connectionId: 'abc=' },
    });
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
  it('reads the table itself with consistent reads, follows pagination and splits out rows past their TTL', async () => {
    dynamo
      .on(QueryCommand)
      .resolvesOnce({
        Items: [
          { connectionId: 'a', expiresAt: 2_000 },
          { connectionId: 'b', expiresAt: 500 },
        ],
        LastEvaluatedKey: { partition: 3, connectionId: 'b' },
      })
      .resolvesOnce({ Items: [{ connectionId: 'c', expiresAt: 3_000 }] });

    const result = await queryPartition('Connections', 3, 1_000);

    expect(result).toEqual({ live: ['a', 'c'], expired: ['b'] });
    const calls = dynamo.commandCalls(QueryCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0].args[0].input).toMatchObject({
      TableName: 'Connections',
      ConsistentRead: true,
      ExpressionAttributeValues: { ':partition': 3 },
    });
    expect(calls[0].args[0].input.IndexName).toBeUndefined();
    expect(calls[1].args[0].input.ExclusiveStartKey).toEqual({ partition: 3, connectionId: 'b' });
  });
});

describe('removeConnections', () => {
  it('deletes each gone id by its full key; a failed delete is reported after the others were tried', async () => {
    dynamo.on(DeleteCommand).resolves({});
    dynamo.on(DeleteCommand, { Key: { partition: 2, connectionId: 'bad' } }).rejects(new Error('InternalServerError'));

    await expect(removeConnections({ connections: 'Connections' }, 2, ['a', 'bad', 'b'])).rejects.toThrow(
      'InternalServerError',
    );

    expect(dynamo.commandCalls(DeleteCommand).map((c) => c.args[0].input.Key)).toEqual([
      { partition: 2, connectionId: 'a' },
      { partition: 2, connectionId: 'bad' },
      { partition: 2, connectionId: 'b' },
    ]);
  });
});

import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DeliveryTally } from '#commons/delivery';
import { logger } from '#commons/helpers/logger';

const dynamo = mockClient(DynamoDBDocumentClient);
const throttled = () =>
  Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
    name: 'ProvisionedThroughputExceededException',
  });

beforeEach(() => {
  dynamo.reset();
  jest.restoreAllMocks();
  jest.spyOn(Math, 'random').mockReturnValue(0); // no backoff waits, delivery count shard 0
});

test('a failed delivery-count write is retried, and the counts of the invocation land once', async () => {
  dynamo.on(UpdateCommand).rejectsOnce(throttled()).rejectsOnce(new Error('socket hang up')).resolves({});
  const tally = new DeliveryTally('Broadcasts');
  tally.add('b1', { delivered: 5, gone: 1, failed: 0 });
  tally.add('b1', { delivered: 2, gone: 0, failed: 1 });

  await tally.flush();

  const writes = dynamo.commandCalls(UpdateCommand).map((c) => c.args[0].input);
  expect(writes).toHaveLength(3);
  expect(writes[2]).toMatchObject({
    Key: { broadcastId: 'b1', item: 'count#delivered#00' },
    ExpressionAttributeValues: { ':delivered': 7, ':gone': 1, ':failed': 1 },
  });
});

test('a delivery-count write that keeps failing is logged with the broadcast, the counts and the error, and does not throw', async () => {
  const error = throttled();
  dynamo.on(UpdateCommand).rejects(error);
  const logged = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  const tally = new DeliveryTally('Broadcasts');
  tally.add('b1', { delivered: 5, gone: 1, failed: 0 });

  await expect(tally.flush()).resolves.toBeUndefined();

  expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(4);
  expect(logged).toHaveBeenCalledTimes(1);
  expect(logged).toHaveBeenCalledWith(expect.stringContaining('could not add delivery counts'), {
    broadcastId: 'b1',
    counts: { delivered: 5, gone: 1, failed: 0, failedBy: {}, unanswered: 0 },
    error: expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }),
  });
});

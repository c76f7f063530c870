/** The coordinator's StartCell / DescribeCell decisions: one execution per name, errors named for the fleet ASL's Retry and Catch, counts of a DeliveryIncomplete cell. */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../../functions/fleet/cell-execution';
import { progressOf } from '#commons/broadcasts/progress';

const sfn = mockClient(SFNClient);
beforeEach(() => sfn.reset());

const cell = {
  name: 'eu-1',
  region: 'eu-west-1',
  stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:Swarmcast-broadcast',
};
const executionArn = 'arn:aws:states:eu-west-1:111122223333:execution:Swarmcast-broadcast:f1-eu-1';

test('a start retried after the first one started returns that execution, not a second one', async () => {
  // prepare
  sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));

  // act
  const started = await handler({ action: 'start', cell, name: 'f1-eu-1', input: '{"message":"hi"}' });

  // assess
  expect(started).toEqual({ executionArn });
  expect(sfn.commandCalls(StartExecutionCommand)[0].args[0].input).toEqual({
    stateMachineArn: cell.stateMachineArn,
    name: 'f1-eu-1',
    input: '{"message":"hi"}',
  });
});

test('a cell that throttles past the SDK retries fails as CellThrottledError, one that does not answer as CellUnreachableError', async () => {
  sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
  await expect(handler({ action: 'start', cell, name: 'f1-eu-1', input: '{}' })).rejects.toMatchObject({
    name: 'CellThrottledError',
    message: 'cell eu-1 (eu-west-1) throttled: Rate exceeded',
  });
  sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
  await expect(handler({ action: 'start', cell, name: 'f1-eu-1', input: '{}' })).rejects.toMatchObject({
    name: 'CellUnreachableError',
  });
});

test('an endpoint that is not loopback is refused before any call', async () => {
  await expect(
    handler({
      action: 'start',
      cell: { ...cell, stepFunctionsEndpoint: 'http://169.254.169.254' },
      name: 'x',
      input: '{}',
    }),
  ).rejects.toMatchObject({ name: 'InvalidCellError' });
  expect(sfn.calls()).toHaveLength(0);
});

test('a cell that ended DeliveryIncomplete still gives its counts, read from its cause', async () => {
  // prepare: the cause exactly as the cell's ReadProgress writes it
  const { cause } = progressOf({
    broadcastId: 'f1-eu-1',
    partitionCount: 1,
    startedAt: 0,
    enqueued: new Map([[0, 1234]]),
    delivered: 1200,
    gone: 4,
    failed: 30,
    failedBy: { refused: 30 },
  } as unknown as Parameters<typeof progressOf>[0]);
  sfn.on(DescribeExecutionCommand).resolves({
    status: 'FAILED',
    error: 'DeliveryIncomplete',
    cause,
    startDate: new Date(1_000),
    stopDate: new Date(4_500),
  });

  // act
  const state = await handler({ action: 'describe', cell, executionArn });

  // assess
  expect(state).toEqual({
    cell: 'eu-1',
    executionArn,
    status: 'FAILED',
    counts: { connections: 1234, delivered: 1200, gone: 4, failed: 30, durationMs: 3500 },
    error: 'DeliveryIncomplete',
    cause,
  });
});

test('a running cell is RUNNING; a succeeded one gives the counts of its summary', async () => {
  sfn
    .on(DescribeExecutionCommand)
    .resolvesOnce({ status: 'RUNNING' })
    .resolvesOnce({
      status: 'SUCCEEDED',
      output: JSON.stringify({
        broadcastId: 'f1-eu-1',
        connections: 10,
        delivered: 9,
        gone: 1,
        failed: 0,
        durationMs: 77,
      }),
    });
  expect(await handler({ action: 'describe', cell, executionArn })).toEqual({
    cell: 'eu-1',
    executionArn,
    status: 'RUNNING',
  });
  expect(await handler({ action: 'describe', cell, executionArn })).toEqual({
    cell: 'eu-1',
    executionArn,
    status: 'SUCCEEDED',
    counts: { connections: 10, delivered: 9, gone: 1, failed: 0, durationMs: 77 },
  });
});

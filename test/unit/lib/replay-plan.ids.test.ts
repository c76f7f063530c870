/**
 * Which executions are a broadcast's replays: only those the CLI itself would have started, i.e.
 * named `<id>-replay-N` and asking in their input to replay that broadcast. An execution someone
 * started by hand under such a name is not listed, and its name is not reused for the next replay.
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { readBroadcastStatus } from '../../../lib/broadcast-status';
import { planReplay } from '../../../lib/replay-plan';
import type { Target } from '../../../lib/target';

const sfn = mockClient(SFNClient);
const STATE_MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:swarmcast-broadcast';
const arnOf = (name: string) => `arn:aws:states:us-east-1:000000000000:execution:swarmcast-broadcast:${name}`;
const started = new Date('2026-12-01T10:00:00Z');

function target(): Target {
  return {
    where: 'local',
    sfn: new SFNClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    stateMachineArn: STATE_MACHINE,
    description: 'test',
    pollIntervalMs: 1,
  };
}

const executions: Record<string, { input: unknown; status: 'SUCCEEDED' | 'FAILED'; output?: unknown }> = {
  X: {
    input: { message: 'hello' },
    status: 'SUCCEEDED',
    output: { connections: 10, delivered: 8, gone: 0, failed: 2, failedPartitions: [], partitions: 4 },
  },
  'X-replay-1': {
    input: { message: 'sent by hand under a replay-like name' },
    status: 'SUCCEEDED',
    output: { connections: 10, delivered: 10, gone: 0, failed: 0, failedPartitions: [], partitions: 4 },
  },
  'X-replay-2': {
    input: { broadcastId: 'X', failedSockets: true },
    status: 'SUCCEEDED',
    output: { connections: 2, delivered: 1, gone: 0, failed: 1, failedPartitions: [], partitions: 4 },
  },
  'X-replay-3': { input: { message: 'another by hand' }, status: 'FAILED' },
};

beforeEach(() => {
  sfn.reset();
  for (const [name, execution] of Object.entries(executions)) {
    sfn.on(DescribeExecutionCommand, { executionArn: arnOf(name) }).resolves({
      executionArn: arnOf(name),
      stateMachineArn: STATE_MACHINE,
      name,
      status: execution.status,
      startDate: started,
      input: JSON.stringify(execution.input),
      output: execution.output === undefined ? undefined : JSON.stringify(execution.output),
    });
  }
  sfn.on(ListExecutionsCommand).resolves({
    executions: ['X-replay-3', 'X-replay-2', 'X-replay-1', 'X'].map((name) => ({
      executionArn: arnOf(name),
      stateMachineArn: STATE_MACHINE,
      name,
      status: executions[name].status,
      startDate: started,
    })),
  });
  sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
  sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
});

test('executions named X-replay-1 and X-replay-3 that were sent by hand are not replays of X; X-replay-2, started as a replay, is', async () => {
  const status = await readBroadcastStatus(target(), 'X');

  expect(status.replays.map((replay) => replay.id)).toEqual(['X-replay-2']);
});

test('the next replay is named past every taken X-replay-N, a replay or not', async () => {
  const status = await readBroadcastStatus(target(), 'X');
  const latest = await readBroadcastStatus(target(), 'X-replay-2', { withReplays: false });

  expect(planReplay(status, latest)).toMatchObject({
    action: 'start',
    id: 'X-replay-4',
    input: { broadcastId: 'X', failedSockets: true },
  });
});

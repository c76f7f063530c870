/**
 * The local Step Functions cap an execution's history as AWS does (25,000 events): an execution
 * that reaches the cap fails, its failure being the last event, and it cannot be redriven (a
 * redrive would continue the same full history). The cap is lowered here to reach it quickly.
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local-account';
import { type LocalStepFunctions, startStepFunctions } from '../../../local/stepfunctions';

const LIMIT = 60;
let sfn: LocalStepFunctions;
let client: SFNClient;

beforeAll(async () => {
  sfn = await startStepFunctions({ lambdas: new Map(), waitOverrideMs: 1, historyEventLimit: LIMIT });
  client = new SFNClient({ endpoint: sfn.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
});

afterAll(async () => {
  client?.destroy();
  await sfn?.stop();
});

test('a loop that never ends fails at the history limit, with the failure as its last event, and is not redrivable', async () => {
  const stateMachineArn = sfn.registerStateMachine({
    name: 'forever',
    definition: {
      StartAt: 'Wait',
      States: {
        Wait: { Type: 'Wait', Seconds: 1, Next: 'Again?' },
        'Again?': { Type: 'Choice', Choices: [{ Variable: '$.stop', IsPresent: true, Next: 'Done' }], Default: 'Wait' },
        Done: { Type: 'Succeed' },
      },
    },
  });
  const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, name: 'loop', input: '{}' }));

  let execution = await client.send(new DescribeExecutionCommand({ executionArn }));
  while (execution.status === 'RUNNING') {
    await new Promise((resolve) => setTimeout(resolve, 20));
    execution = await client.send(new DescribeExecutionCommand({ executionArn }));
  }

  expect(execution).toMatchObject({
    status: 'FAILED',
    error: 'States.Runtime',
    cause: expect.stringContaining(`maximum number of events in its history (${LIMIT})`),
  });
  const { events = [] } = await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  expect(events).toHaveLength(LIMIT);
  expect(events.at(-1)?.type).toBe('ExecutionFailed');
  await expect(client.send(new RedriveExecutionCommand({ executionArn }))).rejects.toMatchObject({
    name: 'ExecutionNotRedrivable',
  });
}, 30_000);

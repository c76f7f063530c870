/**
 * The local Step Functions keep only the newest finished executions (keepFinishedExecutions), so
 * a stack that runs all day holds a bounded number of histories; through the real SDK client.
 */
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local-account';
import { type LocalStepFunctions, startStepFunctions } from '../../../local/stepfunctions';
import { waitUntil } from '../helpers/broadcasts';

let sfn: LocalStepFunctions;
let client: SFNClient;
beforeAll(async () => {
  sfn = await startStepFunctions({ lambdas: new Map(), keepFinishedExecutions: 3 });
  client = new SFNClient({ endpoint: sfn.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
});
afterAll(async () => {
  client.destroy();
  await sfn.stop();
});

test('past keepFinishedExecutions, the oldest finished executions are forgotten', async () => {
  const stateMachineArn = sfn.registerStateMachine({
    name: 'pass',
    definition: { StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } },
  });
  const started: string[] = [];
  for (const name of ['e1', 'e2', 'e3', 'e4', 'e5']) {
    started.push((await client.send(new StartExecutionCommand({ stateMachineArn, name, input: '{}' }))).executionArn!);
    await waitUntil(
      async () =>
        (await client.send(new DescribeExecutionCommand({ executionArn: started.at(-1) }))).status === 'SUCCEEDED',
    );
  }

  const { executions = [] } = await client.send(new ListExecutionsCommand({ stateMachineArn }));

  expect(executions.map((execution) => execution.name)).toEqual(['e5', 'e4', 'e3']);
  await expect(client.send(new DescribeExecutionCommand({ executionArn: started[0] }))).rejects.toBeInstanceOf(
    ExecutionDoesNotExist,
  );
});

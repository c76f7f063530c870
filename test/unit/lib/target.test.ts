import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { CliError, explainError } from '../../../cli/errors';
import { resolveTarget, type Target } from '../../../lib/target';
import { publishLocalStack as publish, unpublishLocalStack } from '../../../lib/local-stacks';
import { publishLocalFleet } from '../../../lib/local-fleets';

const cloudFormation = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);

const DEPLOYED_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:BroadcastStateMachine1A2B3C';
const LOCAL_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:swarmcast-broadcast';
/** Above any Linux pid_max: a process that cannot exist, as after `swarmcast local` was killed. */
const DEAD_PID = 2 ** 23;

let tempDir: string;
let registries = 0;
const opened: Target[] = [];

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'swarmcast-target-'));
});
afterAll(async () => {
  delete process.env.SWARMCAST_LOCAL_DIR;
  await rm(tempDir, { recursive: true, force: true });
});
beforeEach(() => {
  cloudFormation.reset();
  sfn.reset();
  // A registry of its own per test: no local stack unless the test publishes one.
  process.env.SWARMCAST_LOCAL_DIR = path.join(tempDir, `registry-${++registries}`);
});
afterEach(() => {
  for (const target of opened.splice(0)) target.sfn.destroy();
});

async function resolve(options: Parameters<typeof resolveTarget>[0]): Promise<Target> {
  const target = await resolveTarget(options);
  opened.push(target);
  return target;
}

/** The error as the CLI shows it: through the one mapping in cli/errors.ts. */
async function shownError(options: Parameters<typeof resolveTarget>[0]): Promise<CliError> {
  const error = await resolveTarget(options).then(
    () => undefined,
    (thrown: unknown) => explainError(thrown),
  );
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

/** A local stack's entry in the registry, as `swarmcast local` writes it; its ports follow from `port`. */
async function publishLocalStack(pid: number, port = 7701): Promise<void> {
  await publish(
    {
      region: 'us-east-1',
      webSocketUrl: `ws://127.0.0.1:${port - 1}/live`,
      connectionsEndpoint: `http://127.0.0.1:${port - 1}/live`,
      stepFunctionsEndpoint: `http://127.0.0.1:${port}`,
      dynamoDbEndpoint: 'http://127.0.0.1:7702',
      sqsEndpoint: 'http://127.0.0.1:7703',
      stateMachineArn: LOCAL_ARN,
    },
    pid,
  );
}

const stackWithOutputs = (outputs: { OutputKey: string; OutputValue: string }[]) => ({
  Stacks: [
    { StackName: 'Swarmcast', StackStatus: 'CREATE_COMPLETE' as const, CreationTime: new Date(), Outputs: outputs },
  ],
});

describe('AWS stack', () => {
  it('reads the state machine ARN from the stack output "StateMachineArn"', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Swarmcast' }).resolves(
      stackWithOutputs([
        { OutputKey: 'WebSocketUrl', OutputValue: 'wss://abc.execute-api.eu-west-1.amazonaws.com/live' },
        { OutputKey: 'StateMachineArn', OutputValue: DEPLOYED_ARN },
      ]),
    );

    const target = await resolve({});

    expect(target).toMatchObject({
      where: 'aws',
      stateMachineArn: DEPLOYED_ARN,
      description: `AWS stack "Swarmcast" in eu-west-1, state machine ${DEPLOYED_ARN}`,
    });
    expect(await target.sfn.config.region()).toBe('eu-west-1');
  });

  it('uses the stack named by --stack', async () => {
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'SwarmcastStaging' })
      .resolves(stackWithOutputs([{ OutputKey: 'StateMachineArn', OutputValue: DEPLOYED_ARN }]));

    const target = await resolve({ stack: 'SwarmcastStaging' });

    expect(target.stateMachineArn).toBe(DEPLOYED_ARN);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(1);
  });

  it('says so clearly when the stack does not exist', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: {},
        message: 'Stack with id Nope does not exist',
      }),
    );

    const error = await shownError({ stack: 'Nope' });

    expect(error.message).toBe(
      'no CloudFormation stack "Nope" in this account and Region; deploy it (npx cdk deploy), pass --stack NAME or --state-machine-arn ARN, set AWS_REGION, or start `swarmcast local`',
    );
  });

  it('says so clearly when the stack has no StateMachineArn output', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(stackWithOutputs([{ OutputKey: 'Other', OutputValue: 'x' }]));

    const error = await shownError({ stack: 'Other' });

    expect(error.message).toMatch(/^stack "Other" has no StateMachineArn output/);
  });
});

describe('--state-machine-arn', () => {
  it('wins over --stack and over a running local stack, and names the Region to call', async () => {
    await publishLocalStack(process.pid);

    const target = await resolve({
      stateMachineArn: 'arn:aws:states:ap-southeast-2:123456789012:stateMachine:Other',
      stack: 'Swarmcast',
    });

    expect(target).toMatchObject({
      where: 'aws',
      stateMachineArn: 'arn:aws:states:ap-southeast-2:123456789012:stateMachine:Other',
    });
    expect(await target.sfn.config.region()).toBe('ap-southeast-2');
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('refuses something that is not a state machine ARN', async () => {
    const error = await shownError({ stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:execution:x:y' });

    expect(error.message).toMatch(
      /^--state-machine-arn must look like arn:aws:states:<region>:<account>:stateMachine:<name>/,
    );
  });
});

describe('local stack', () => {
  it('is used without flags when `swarmcast local` runs', async () => {
    await publishLocalStack(process.pid);

    const target = await resolve({});

    expect(target).toMatchObject({
      where: 'local',
      stateMachineArn: LOCAL_ARN,
      description: `local stack (swarmcast local, pid ${process.pid}) at http://127.0.0.1:7701`,
    });
    expect(await target.sfn.config.endpoint!()).toMatchObject({ hostname: '127.0.0.1', port: 7701 });
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('gives way to an explicit --stack', async () => {
    await publishLocalStack(process.pid);
    cloudFormation
      .on(DescribeStacksCommand)
      .resolves(stackWithOutputs([{ OutputKey: 'StateMachineArn', OutputValue: DEPLOYED_ARN }]));

    const target = await resolve({ stack: 'Swarmcast' });

    expect(target).toMatchObject({ where: 'aws', stateMachineArn: DEPLOYED_ARN });
  });

  it('whose process is gone is not a reason to move to AWS: an error says so and how to choose', async () => {
    await publishLocalStack(DEAD_PID);
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'Swarmcast' })
      .resolves(stackWithOutputs([{ OutputKey: 'StateMachineArn', OutputValue: DEPLOYED_ARN }]));

    const error = await shownError({});

    expect(error.message).toMatch(
      new RegExp(
        `^the local stack pid ${DEAD_PID} \\(Step Functions API http://127.0.0.1:7701\\) is no longer running .*: start \`npx swarmcast local\` again, or pass --stack NAME to use the AWS stack`,
      ),
    );
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('with no registry entry at all: the AWS stack "Swarmcast" is used', async () => {
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'Swarmcast' })
      .resolves(stackWithOutputs([{ OutputKey: 'StateMachineArn', OutputValue: DEPLOYED_ARN }]));

    const target = await resolve({});

    expect(target.where).toBe('aws');
  });

  it('with only a local fleet running: an error points at --fleet local, and AWS is not used', async () => {
    await publishLocalFleet({
      cells: [{ name: 'cell-1', url: 'ws://127.0.0.1:1/live', weight: 1, region: 'us-east-1' }],
    });

    const error = await shownError({});

    expect(error.message).toMatch(
      /^a local fleet is running \(.*\.fleet\.json\) and no single local stack: pass --fleet local for a fleet broadcast, or --endpoint URL for one cell's Step Functions API$/,
    );
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('a second stack that stops leaves the first one found (its own entry only is removed)', async () => {
    await publishLocalStack(process.pid, 7701);
    await publishLocalStack(process.ppid, 7711);
    await unpublishLocalStack(process.ppid);

    const target = await resolve({});

    expect(target).toMatchObject({
      where: 'local',
      description: `local stack (swarmcast local, pid ${process.pid}) at http://127.0.0.1:7701`,
    });
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('with two running: an error names both and the option that chooses one', async () => {
    await publishLocalStack(process.pid, 7701);
    await publishLocalStack(process.ppid, 7711);

    const [first, second] = [process.pid, process.ppid].sort((a, b) => a - b);
    const ports = new Map([
      [process.pid, 7701],
      [process.ppid, 7711],
    ]);
    for (const options of [{}, { local: true }]) {
      const error = await shownError(options);
      expect(error.message).toBe(
        `2 local stacks are running: pid ${first} (Step Functions API http://127.0.0.1:${ports.get(first)}), pid ${second} (Step Functions API http://127.0.0.1:${ports.get(second)}); choose one with --endpoint URL`,
      );
    }
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('an entry whose process is gone is ignored beside a running one', async () => {
    await publishLocalStack(DEAD_PID, 7711);
    await publishLocalStack(process.pid, 7701);

    const target = await resolve({ local: true });

    expect(target).toMatchObject({
      where: 'local',
      description: `local stack (swarmcast local, pid ${process.pid}) at http://127.0.0.1:7701`,
    });
  });

  it('with --local and none running: says how to start one', async () => {
    await publishLocalStack(DEAD_PID);

    const error = await shownError({ local: true });

    expect(error.message).toBe(
      'no local stack is running: start one with `npx swarmcast local` in another terminal, or pass --endpoint URL',
    );
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('--endpoint finds the state machine behind it, without a discovery file', async () => {
    sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        {
          stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:other',
          name: 'other',
          type: 'STANDARD',
          creationDate: new Date(),
        },
        { stateMachineArn: LOCAL_ARN, name: 'swarmcast-broadcast', type: 'STANDARD', creationDate: new Date() },
      ],
    });

    const target = await resolve({ endpoint: 'http://127.0.0.1:9999' });

    expect(target).toMatchObject({ where: 'local', stateMachineArn: LOCAL_ARN });
  });
});

/**
 * Which stack the library and the CLI talk to — given by options (the CLI's flags), a running
 * `swarmcast local`, or the AWS stack "Swarmcast" — as one Step Functions client and state machine.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { findLocalStacks, type PublishedLocalStack, registryDir } from './local-stacks';
import { findLocalFleets } from './local-fleets';
import { LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_STATE_MACHINE_NAME } from './local-account';
import { STACK_NAME, STACK_OUTPUTS } from '#commons/contract';
import { SwarmcastError } from './errors';

export const DEFAULT_STACK_NAME = STACK_NAME;
export const STATE_MACHINE_OUTPUT = STACK_OUTPUTS.stateMachineArn;
/** Throttled calls are retried with backoff by the SDK; a watch loop can afford a few more attempts. */
const AWS_MAX_ATTEMPTS = 6;
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;

/** How to find the stack, as the CLI's flags say it; with none, a running `swarmcast local`, else the AWS stack "Swarmcast". */
export interface TargetOptions {
  /** AWS: the CloudFormation stack whose StateMachineArn output names the state machine. */
  stack?: string;
  /** This state machine (wins over `stack`); its ARN names the Region. */
  stateMachineArn?: string;
  /** The Step Functions API of a local stack, e.g. http://127.0.0.1:7701. */
  endpoint?: string;
  /** The running `swarmcast local` stack; fail if none runs. */
  local?: boolean;
  /** AWS: the Region of `stack` (default: the SDK's chain, AWS_REGION or the profile's). */
  region?: string;
  /** AWS: the shared-config profile whose credentials and Region to use (default: AWS_PROFILE or "default"). */
  profile?: string;
}

/** Where a command starts and reads executions: one state machine behind one Step Functions API. */
export interface Target {
  where: 'aws' | 'local';
  sfn: SFNClient;
  stateMachineArn: string;
  /** One line for stderr saying which target is used. */
  description: string;
  /** Between progress reads: the local API is free to ask; AWS counts every call against a quota. */
  pollIntervalMs: number;
}

/**
 * Precedence: explicit flags (--state-machine-arn, then --endpoint, then --stack) > the one running
 * `swarmcast local` (found through lib/local-stacks.ts) > the AWS stack "Swarmcast" when the
 * registry holds no local stack at all.
 * Region and credentials for AWS come from the standard SDK chain.
 */
export async function resolveTarget(options: TargetOptions): Promise<Target> {
  if (options.endpoint !== undefined) checkEndpoint(options.endpoint);
  if (options.stateMachineArn) {
    const region = STATE_MACHINE_ARN.exec(options.stateMachineArn)?.[1];
    if (!region)
      throw new SwarmcastError(
        `--state-machine-arn must look like arn:aws:states:<region>:<account>:stateMachine:<name>, not "${options.stateMachineArn}"`,
      );
    if (options.endpoint) {
      return localTarget(
        options.endpoint,
        region,
        options.stateMachineArn,
        `state machine ${options.stateMachineArn} at ${options.endpoint}`,
      );
    }
    // The ARN names its Region: talk to that one whatever the profile says.
    const sfn = new SFNClient({ region, profile: options.profile, maxAttempts: AWS_MAX_ATTEMPTS });
    return awsTarget(sfn, options.stateMachineArn, `AWS state machine ${options.stateMachineArn}`);
  }
  if (options.endpoint) {
    const region = process.env.AWS_REGION ?? LOCAL_REGION;
    const sfn = localClient(options.endpoint, region);
    const stateMachineArn = await onlyStateMachineAt(sfn, options.endpoint).catch((error: unknown) => {
      if (error instanceof SwarmcastError) throw error;
      const { name, message, code } = error as Error & { code?: string };
      throw new SwarmcastError(
        `--endpoint ${options.endpoint} did not answer as a Step Functions API (${code ?? name}${message && message !== name ? `: ${message}` : ''}); is \`swarmcast local\` running there?`,
      );
    });
    return {
      where: 'local',
      sfn,
      stateMachineArn,
      description: `Step Functions API at ${options.endpoint} (--endpoint), state machine ${stateMachineArn}`,
      pollIntervalMs: 250,
    };
  }
  if (!options.stack && options.region === undefined && options.profile === undefined) {
    const local = await onlyLocalStack(options.local === true);
    if (local) {
      return localTarget(
        local.stepFunctionsEndpoint,
        local.region,
        local.stateMachineArn,
        `local stack (swarmcast local, pid ${local.pid}) at ${local.stepFunctionsEndpoint}`,
      );
    }
  }
  return stackTarget(options.stack ?? DEFAULT_STACK_NAME, options);
}

/** How one local stack is named in a message: its process and its Step Functions API. */
export const describeLocalStack = (stack: PublishedLocalStack): string =>
  `pid ${stack.pid} (Step Functions API ${stack.stepFunctionsEndpoint})`;

/**
 * The one running local stack, or undefined when the registry holds none at all (then AWS is the
 * default). Several running, or only entries of stacks that died, is an error: the user was working
 * locally, and the CLI must not move to AWS (a real account) or pick a stack without being told.
 */
async function onlyLocalStack(required: boolean): Promise<PublishedLocalStack | undefined> {
  const { running, stale } = await findLocalStacks();
  if (running.length === 1) return running[0];
  if (running.length > 1) {
    throw new SwarmcastError(
      `${running.length} local stacks are running: ${running.map(describeLocalStack).join(', ')}; choose one with --endpoint URL`,
    );
  }
  // A local fleet's cells are not stacks of the registry: without a flag the CLI must not move to AWS either.
  const fleets = await findLocalFleets();
  if (fleets.length > 0)
    throw new SwarmcastError(
      `a local fleet is running (${fleets.map(({ file }) => file).join(', ')}) and no single local stack: pass --fleet local for a fleet broadcast, or --endpoint URL for one cell's Step Functions API`,
    );
  if (required)
    throw new SwarmcastError(
      'no local stack is running: start one with `npx swarmcast local` in another terminal, or pass --endpoint URL',
    );
  if (stale.length > 0) {
    throw new SwarmcastError(
      `the local stack ${stale.map(describeLocalStack).join(', ')} is no longer running (it ended without removing its entry in ${registryDir()}): ` +
        'start `npx swarmcast local` again, or pass --stack NAME to use the AWS stack (starting `swarmcast local` once also clears the entry)',
    );
  }
  return undefined;
}

async function stackTarget(stackName: string, { region, profile }: TargetOptions): Promise<Target> {
  const cloudFormation = new CloudFormationClient({ region, profile, maxAttempts: AWS_MAX_ATTEMPTS });
  try {
    const { Stacks = [] } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const stateMachineArn = Stacks[0]?.Outputs?.find(
      (output) => output.OutputKey === STATE_MACHINE_OUTPUT,
    )?.OutputValue;
    if (!stateMachineArn) {
      throw new SwarmcastError(
        `stack "${stackName}" has no ${STATE_MACHINE_OUTPUT} output: is it a swarmcast stack, and is its deployment finished? Pass --state-machine-arn otherwise`,
      );
    }
    const stackRegion = await cloudFormation.config.region();
    const sfn = new SFNClient({ region: stackRegion, profile, maxAttempts: AWS_MAX_ATTEMPTS });
    return awsTarget(
      sfn,
      stateMachineArn,
      `AWS stack "${stackName}" in ${stackRegion}, state machine ${stateMachineArn}`,
    );
  } finally {
    cloudFormation.destroy();
  }
}

function awsTarget(sfn: SFNClient, stateMachineArn: string, description: string): Target {
  return { where: 'aws', sfn, stateMachineArn, description, pollIntervalMs: 2_000 };
}

/** An --endpoint that cannot be a Step Functions API is refused before any call, naming the flag. */
function checkEndpoint(endpoint: string): void {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.hostname === '') {
    throw new SwarmcastError(
      `--endpoint must be the http:// or https:// URL of a Step Functions API, e.g. http://127.0.0.1:7701, not ${JSON.stringify(endpoint)}`,
    );
  }
}

function localTarget(endpoint: string, region: string, stateMachineArn: string, description: string): Target {
  return { where: 'local', sfn: localClient(endpoint, region), stateMachineArn, description, pollIntervalMs: 250 };
}

function localClient(endpoint: string, region: string): SFNClient {
  return new SFNClient({ endpoint, region, credentials: LOCAL_CREDENTIALS });
}

/** Behind a bare --endpoint: its only state machine, or the one the local stack registers. */
async function onlyStateMachineAt(sfn: SFNClient, endpoint: string): Promise<string> {
  const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
  const chosen =
    stateMachines.length === 1
      ? stateMachines[0]
      : stateMachines.find((machine) => machine.name === LOCAL_STATE_MACHINE_NAME);
  if (!chosen?.stateMachineArn) {
    throw new SwarmcastError(
      `found ${stateMachines.length} state machines at ${endpoint} and none named ${LOCAL_STATE_MACHINE_NAME}; pass --state-machine-arn too`,
    );
  }
  return chosen.stateMachineArn;
}

/** Resolves the target, runs `work` on it, and closes its client, whatever `work` does. */
export async function onTarget<T>(
  options: TargetOptions,
  work: (target: Target) => Promise<T>,
  onResolved?: (target: Target) => void,
): Promise<T> {
  const target = await resolveTarget(options);
  onResolved?.(target);
  try {
    return await work(target);
  } finally {
    target.sfn.destroy();
  }
}

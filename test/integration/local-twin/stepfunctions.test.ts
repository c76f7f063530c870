/**
 * The local Step Functions, driven through the real @aws-sdk/client-sfn: the real
 * statemachines/broadcast.asl.json runs with fake Lambda functions (not the project's
 * handlers), so these tests pin the Step Functions behaviour alone — Distributed Map
 * batching, concurrency, tolerated failures, redrive, history and API errors.
 */
import path from 'node:path';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionNotRedrivable,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  InvalidExecutionInput,
  ListExecutionsCommand,
  ListMapRunsCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import aws4 from 'aws4';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local-account';
import { type LocalStepFunctions, startStepFunctions } from '../../../local/stepfunctions';
import {
  broadcastSubstitutions,
  FakeBroadcastLambdas,
  type FakeBroadcastSettings,
} from '../fixtures/stepfunctions/fake-broadcast-lambdas';

const ASL_FILE = path.join(__dirname, '..', '..', '..', 'statemachines', 'broadcast.asl.json');
const TEN_PARTITIONS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

/** A fresh server per test: executions and fakes never leak between cases. */
async function setUp(settings: Partial<FakeBroadcastSettings> = {}) {
  const fakes = new FakeBroadcastLambdas({
    partitions: TEN_PARTITIONS,
    partitionsPerChild: 3,
    maxConcurrency: 2,
    toleratedFailurePercentage: 0,
    ...settings,
  });
  const sfn = await startStepFunctions({ lambdas: fakes.registry(), waitOverrideMs: 5, retryOverrideMs: 0 });
  const stateMachineArn = sfn.registerStateMachine({
    name: 'broadcast',
    definitionFile: ASL_FILE,
    substitutions: broadcastSubstitutions,
  });
  const client = new SFNClient({ endpoint: sfn.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return { fakes, sfn, stateMachineArn, client };
}

async function settled(client: SFNClient, executionArn: string): Promise<DescribeExecutionCommandOutput> {
  for (;;) {
    const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING') return execution;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function history(client: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  return (await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events!;
}

const enteredStates = (events: HistoryEvent[]) =>
  events.filter((e) => e.type!.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails!.name);

/** A JSON-protocol call signed with the local credentials over `signedBody`, sending `sentBody`. */
function signedCall(endpoint: string, operation: string, signedBody: string, sentBody = signedBody): Promise<Response> {
  const { host } = new URL(endpoint);
  const headers = { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': `AWSStepFunctions.${operation}` };
  const signed = aws4.sign(
    { host, path: '/', method: 'POST', service: 'states', region: LOCAL_REGION, headers, body: signedBody },
    LOCAL_CREDENTIALS,
  );
  const { Host: _host, 'Content-Length': _length, ...sent } = signed.headers as Record<string, string>;
  return fetch(endpoint, { method: 'POST', headers: sent, body: sentBody });
}

let sfn: LocalStepFunctions | undefined;
afterEach(async () => {
  await sfn?.stop();
  sfn = undefined;
});

describe('local Step Functions running broadcast.asl.json', () => {
  test("more failed sockets than tolerated: FAILED with DeliveryIncomplete and ReadProgress's cause; within the tolerance: SUCCEEDED", async () => {
    // prepare
    const env = await setUp({ pollsUntilDone: 1, failedSockets: 3, toleratedFailedSocketsPercentage: 2 });
    sfn = env.sfn;
    // act
    const { executionArn } = await env.client.send(
      new StartExecutionCommand({
        stateMachineArn: env.stateMachineArn,
        name: 'past-tolerance',
        input: JSON.stringify({ message: 'hello' }),
      }),
    );
    const failed = await settled(env.client, executionArn!);
    env.fakes.settings.toleratedFailedSocketsPercentage = 3;
    const within = await env.client.send(
      new StartExecutionCommand({
        stateMachineArn: env.stateMachineArn,
        name: 'within-tolerance',
        input: JSON.stringify({ message: 'hello' }),
      }),
    );
    const succeeded = await settled(env.client, within.executionArn!);
    // assess
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: 'DeliveryIncomplete',
      cause: '3 of 100 sockets failed (tolerated 2 %)',
    });
    expect(enteredStates(await history(env.client, executionArn!)).slice(-3)).toEqual([
      'Delivered?',
      'WithinTolerance?',
      'DeliveryIncomplete',
    ]);
    expect(succeeded.status).toBe('SUCCEEDED');
    expect(JSON.parse(succeeded.output!)).toMatchObject({ failed: 3, delivered: 97 });
  });

  test('happy path: Prepare, a Map Run, the ReadProgress loop, the summary as output', async () => {
    // prepare
    const env = await setUp({ pollsUntilDone: 3 });
    sfn = env.sfn;
    // act
    const { executionArn } = await env.client.send(
      new StartExecutionCommand({
        stateMachineArn: env.stateMachineArn,
        name: 'happy',
        input: JSON.stringify({ message: 'hello' }),
      }),
    );
    const execution = await settled(env.client, executionArn!);
    const events = await history(env.client, executionArn!);
    // assess
    expect(execution).toMatchObject({
      status: 'SUCCEEDED',
      name: 'happy',
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    });
    expect(execution.startDate).toBeInstanceOf(Date);
    expect(execution.stopDate!.getTime()).toBeGreaterThanOrEqual(execution.startDate!.getTime());
    expect(JSON.parse(execution.output!)).toEqual({
      broadcastId: 'b-1',
      partitions: 10,
      connections: 100,
      delivered: 100,
      gone: 0,
      failed: 0,
      durationMs: 42,
    });
    expect(enteredStates(events)).toEqual([
      'Prepare',
      'FanOut',
      'AwaitDelivery',
      'ReadProgress',
      'Delivered?',
      'AwaitDelivery',
      'ReadProgress',
      'Delivered?',
      'AwaitDelivery',
      'ReadProgress',
      'Delivered?',
      'WithinTolerance?',
      'Summary',
    ]);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 6)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
    expect(types.slice(6, 10)).toEqual(['MapStateEntered', 'MapRunStarted', 'MapRunSucceeded', 'MapStateExited']);
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    for (const [i, event] of events.entries()) expect(event).toMatchObject({ id: i + 1, previousEventId: i });
    const scheduled = events.find((e) => e.type === 'TaskScheduled')!.taskScheduledEventDetails!;
    expect(scheduled).toMatchObject({ resourceType: 'lambda', resource: 'invoke', region: 'us-east-1' });
    expect(JSON.parse(scheduled.parameters!)).toEqual({
      FunctionName: broadcastSubstitutions.PrepareBroadcastFunctionArn,
      Payload: { input: { message: 'hello' }, executionName: 'happy' },
    });
    expect(env.fakes.executionNames).toEqual(['happy']);
    const lambdaResult = JSON.parse(events.find((e) => e.type === 'TaskSucceeded')!.taskSucceededEventDetails!.output!);
    expect(lambdaResult).toMatchObject({
      ExecutedVersion: '$LATEST',
      StatusCode: 200,
      Payload: { broadcastId: 'b-1' },
    });
    expect(lambdaResult.SdkHttpMetadata.HttpStatusCode).toBe(200);
    expect(env.fakes.progressPolls).toBe(3);
  });

  test('delivery that does not finish in time: ReadProgress says timedOut, the execution fails with DeliveryTimeout', async () => {
    const env = await setUp({ pollsUntilDone: 1_000_000, pollsUntilTimedOut: 2 });
    sfn = env.sfn;
    const { executionArn } = await env.client.send(
      new StartExecutionCommand({ stateMachineArn: env.stateMachineArn, name: 'slow', input: '{"message":"m"}' }),
    );

    const execution = await settled(env.client, executionArn!);

    expect(execution).toMatchObject({ status: 'FAILED', error: 'DeliveryTimeout' });
    expect(execution.cause).toMatch(
      /^Delivery did not finish within the configured delivery timeout: some sockets were still unaccounted for a grace after the delivery deadline/,
    );
    expect(enteredStates(await history(env.client, executionArn!)).slice(2)).toEqual([
      'AwaitDelivery',
      'ReadProgress',
      'Delivered?',
      'AwaitDelivery',
      'ReadProgress',
      'Delivered?',
      'DeliveryTimedOut',
    ]);
    expect(env.fakes.progressPolls).toBe(2);
  });

  test('batching: children get {Items, BatchInput}, batches of partitionsPerChild, at most maxConcurrency at once', async () => {
    const env = await setUp({ partitionsPerChild: 3, maxConcurrency: 2, queryDelayMs: 30 });
    sfn = env.sfn;
    const { executionArn } = await env.client.send(
      new StartExecutionCommand({ stateMachineArn: env.stateMachineArn, input: '{"message":"m"}' }),
    );
    expect((await settled(env.client, executionArn!)).status).toBe('SUCCEEDED');
    const batches = env.fakes.queryCalls.map((call) => call.Items).sort((a, b) => a[0] - b[0]);
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    for (const call of env.fakes.queryCalls)
      expect(call.BatchInput).toEqual({
        broadcastId: 'b-1',
        kind: 'message',
        channel: null,
        resendFailedSockets: false,
      });
    expect(env.fakes.maxInFlight).toBe(2);
  });

  test('Map Run record: ListMapRuns, DescribeMapRun, and its children through ListExecutions', async () => {
    const env = await setUp({ partitionsPerChild: 4, maxConcurrency: 3 });
    sfn = env.sfn;
    const { executionArn } = await env.client.send(
      new StartExecutionCommand({ stateMachineArn: env.stateMachineArn, input: '{"message":"m"}' }),
    );
    await settled(env.client, executionArn!);
    const { mapRuns } = await env.client.send(new ListMapRunsCommand({ executionArn }));
    expect(mapRuns).toHaveLength(1);
    expect(mapRuns![0]).toMatchObject({ executionArn, stateMachineArn: env.stateMachineArn });
    expect(mapRuns![0].mapRunArn).toMatch(/^arn:aws:states:us-east-1:000000000000:mapRun:broadcast\/FanOut:/);
    const mapRun = await env.client.send(new DescribeMapRunCommand({ mapRunArn: mapRuns![0].mapRunArn }));
    expect(mapRun).toMatchObject({
      status: 'SUCCEEDED',
      executionArn,
      maxConcurrency: 3,
      toleratedFailurePercentage: 0,
      toleratedFailureCount: 0,
      itemCounts: {
        pending: 0,
        running: 0,
        succeeded: 10,
        failed: 0,
        timedOut: 0,
        aborted: 0,
        total: 10,
        resultsWritten: 0,
      },
      executionCounts: {
        pending: 0,
        running: 0,
        succeeded: 3,
        failed: 0,
        timedOut: 0,
        aborted: 0,
        total: 3,
        resultsWritten: 0,
      },
    });
    expect(mapRun.startDate).toBeInstanceOf(Date);
    expect(mapRun.stopDate).toBeInstanceOf(Date);
    const children = await env.client.send(new ListExecutionsCommand({ mapRunArn: mapRun.mapRunArn }));
    expect(children.executions).toHaveLength(3);
    for (const child of children.executions!)
      expect(child).toMatchObject({
        status: 'SUCCEEDED',
        mapRunArn: mapRun.mapRunArn,
        stateMachineArn: env.stateMachineArn,
      });
    const child = await env.client.send(
      new DescribeExecutionCommand({ executionArn: children.executions![0].executionArn }),
    );
    expect(JSON.parse(child.input!)).toMatchObject({ BatchInput: { broadcastId: 'b-1', kind: 'message' } });
    expect(enteredStates(await history(env.client, child.executionArn!))).toEqual(['QueryPartitions']);
  });

  test('a child failing beyond the tolerance fails the execution; RedriveExecution re-runs only that child', async () => {
    // prepare: batch [3,4,5] fails once, only after the three other batches have succeeded
    const env = await setUp({
      partitionsPerChild: 3,
      maxConcurrency: 0,
      toleratedFailurePercentage: 0,
      queryDelayMs: 5,
    });
    sfn = env.sfn;
    env.fakes.failBatchOf(4, 'PartitionFailedError', 1, 3);
    // act: first run
    const { executionArn } = await env.client.send(
      new StartExecutionCommand({ stateMachineArn: env.stateMachineArn, input: '{"message":"m"}' }),
    );
    const failed = await settled(env.client, executionArn!);
    // assess: the Map Run failed past its tolerance
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: 'States.ExceedToleratedFailureThreshold',
      redriveStatus: 'REDRIVABLE',
    });
    const [{ mapRunArn }] = (await env.client.send(new ListMapRunsCommand({ executionArn }))).mapRuns!;
    expect(await env.client.send(new DescribeMapRunCommand({ mapRunArn }))).toMatchObject({
      status: 'FAILED',
      itemCounts: { succeeded: 7, failed: 3, total: 10 },
      executionCounts: { succeeded: 3, failed: 1, total: 4 },
    });
    const failedChildren = await env.client.send(new ListExecutionsCommand({ mapRunArn, statusFilter: 'FAILED' }));
    expect(failedChildren.executions).toHaveLength(1);
    const failedChild = await env.client.send(
      new DescribeExecutionCommand({ executionArn: failedChildren.executions![0].executionArn }),
    );
    expect(failedChild).toMatchObject({ error: 'PartitionFailedError', redriveStatus: 'REDRIVABLE_BY_MAP_RUN' });
    expect(JSON.parse(failedChild.cause!)).toEqual({
      errorMessage: 'partitions 3,4,5 failed',
      errorType: 'PartitionFailedError',
      trace: [],
    });
    expect((await history(env.client, executionArn!)).map((e) => e.type).slice(-3)).toEqual([
      'MapRunFailed',
      'MapStateFailed',
      'ExecutionFailed',
    ]);

    // act: redrive
    const callsBefore = env.fakes.queryCalls.length;
    const { redriveDate } = await env.client.send(new RedriveExecutionCommand({ executionArn }));
    const redriven = await settled(env.client, executionArn!);
    // assess: only the failed batch ran again, the rest of the machine continued
    expect(redriveDate).toBeInstanceOf(Date);
    expect(env.fakes.queryCalls.slice(callsBefore).map((call) => call.Items)).toEqual([[3, 4, 5]]);
    expect(redriven).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    expect(redriven.error).toBeUndefined();
    expect(await env.client.send(new DescribeMapRunCommand({ mapRunArn }))).toMatchObject({
      status: 'SUCCEEDED',
      redriveCount: 1,
      itemCounts: { succeeded: 10, failed: 0, total: 10 },
    });
    const events = await history(env.client, executionArn!);
    const afterRedrive = events.slice(events.findIndex((e) => e.type === 'ExecutionRedriven'));
    expect(afterRedrive[0].executionRedrivenEventDetails).toEqual({ redriveCount: 1 });
    expect(afterRedrive.map((e) => e.type).slice(0, 4)).toEqual([
      'ExecutionRedriven',
      'MapStateEntered',
      'MapRunRedriven',
      'MapRunSucceeded',
    ]);
    expect(afterRedrive.at(-1)!.type).toBe('ExecutionSucceeded');
    expect(
      (
        await env.client.send(
          new ListExecutionsCommand({ stateMachineArn: env.stateMachineArn, redriveFilter: 'REDRIVEN' }),
        )
      ).executions,
    ).toHaveLength(1);
  });

  test('past the tolerance no more children start; the redrive runs the pending ones with the failed one', async () => {
    const env = await setUp({
      partitionsPerChild: 3,
      maxConcurrency: 1,
      toleratedFailurePercentage: 0,
      queryDelayMs: 5,
    });
    sfn = env.sfn;
    env.fakes.failBatchOf(0, 'PartitionFailedError', 1);
    const { executionArn } = await env.client.send(
      new StartExecutionCommand({ stateMachineArn: env.stateMachineArn, input: '{"message":"m"}' }),
    );
    expect((await settled(env.client, executionArn!)).error).toBe('States.ExceedToleratedFailureThreshold');
    const [{ mapRunArn }] = (await env.client.send(new ListMapRunsCommand({ executionArn }))).mapRuns!;
    // With one child at a time the first failure stops the Map Run before the others start.
    expect((await env.client.send(new DescribeMapRunCommand({ mapRunArn }))).executionCounts).toMatchObject({
      failed: 1,
      pending: 3,
      total: 4,
    });
    await env.client.send(new RedriveExecutionCommand({ executionArn }));
    expect((await settled(env.client, executionArn!)).status).toBe('SUCCEEDED');
    expect(env.fakes.queryCalls.map((call) => call.Items[0])).toEqual([0, 0, 3, 6, 9]);
  });

  test('a failure within the tolerance lets the execution succeed', async () => {
    // 3 of 10 items fail: exactly the 30 % tolerated
    const env = await setUp({ partitionsPerChild: 3, maxConcurrency: 4, toleratedFailurePercentage: 30 });
    sfn = env.sfn;
    env.fakes.failBatchOf(7, 'PartitionFailedError');
    const { executionArn } = await env.client.send(
      new StartExecutionCommand({ stateMachineArn: env.stateMachineArn, input: '{"message":"m"}' }),
    );
    expect((await settled(env.client, executionArn!)).status).toBe('SUCCEEDED');
    const [{ mapRunArn }] = (await env.client.send(new ListMapRunsCommand({ executionArn }))).mapRuns!;
    expect(await env.client.send(new DescribeMapRunCommand({ mapRunArn }))).toMatchObject({
      status: 'SUCCEEDED',
      toleratedFailurePercentage: 30,
      itemCounts: { succeeded: 7, failed: 3 },
      executionCounts: { succeeded: 3, failed: 1 },
    });
  });

  test('Retry matches the Lambda error name: a throttled child is retried and succeeds', async () => {
    const env = await setUp({ partitions: [0, 1], partitionsPerChild: 2 });
    sfn = env.sfn;
    env.fakes.failBatchOf(0, 'ThrottledError', 2);
    const { executionArn } = await env.client.send(
      new StartExecutionCommand({ stateMachineArn: env.stateMachineArn, input: '{"message":"m"}' }),
    );
    expect((await settled(env.client, executionArn!)).status).toBe('SUCCEEDED');
    expect(env.fakes.queryCalls).toHaveLength(3);
    const [{ mapRunArn }] = (await env.client.send(new ListMapRunsCommand({ executionArn }))).mapRuns!;
    const [child] = (await env.client.send(new ListExecutionsCommand({ mapRunArn }))).executions!;
    const childEvents = (await history(env.client, child.executionArn!)).map((e) => e.type);
    expect(childEvents.filter((type) => type === 'TaskFailed')).toHaveLength(2);
    expect(childEvents.filter((type) => type === 'TaskScheduled')).toHaveLength(3);
  });

  test('a handler error not retried fails the execution with its name and the Lambda error as cause', async () => {
    const env = await setUp();
    sfn = env.sfn;
    const { executionArn } = await env.client.send(
      new StartExecutionCommand({ stateMachineArn: env.stateMachineArn, input: '{"no":"message"}' }),
    );
    const execution = await settled(env.client, executionArn!);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'InvalidBroadcastError' });
    expect(JSON.parse(execution.cause!)).toMatchObject({
      errorType: 'InvalidBroadcastError',
      errorMessage: 'message is required',
    });
    const failure = (await history(env.client, executionArn!)).find((e) => e.type === 'TaskFailed')!;
    expect(failure.taskFailedEventDetails).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
      error: 'InvalidBroadcastError',
    });
  });

  test('API errors carry the AWS error types', async () => {
    const env = await setUp();
    sfn = env.sfn;
    const { client, stateMachineArn } = env;
    const missing = 'arn:aws:states:us-east-1:000000000000:execution:broadcast:nope';
    await expect(client.send(new DescribeExecutionCommand({ executionArn: missing }))).rejects.toBeInstanceOf(
      ExecutionDoesNotExist,
    );
    await expect(client.send(new StartExecutionCommand({ stateMachineArn, input: 'not json' }))).rejects.toBeInstanceOf(
      InvalidExecutionInput,
    );
    await expect(
      client.send(
        new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ message: 'x'.repeat(262_144) }) }),
      ),
    ).rejects.toBeInstanceOf(InvalidExecutionInput);
    await expect(
      client.send(
        new StartExecutionCommand({
          stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:other',
          input: '{}',
        }),
      ),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);

    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn, name: 'once', input: '{"message":"m"}' }),
    );
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn, name: 'once', input: '{"message":"other"}' })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await settled(client, executionArn!);
    await expect(client.send(new RedriveExecutionCommand({ executionArn }))).rejects.toBeInstanceOf(
      ExecutionNotRedrivable,
    );

    const unknown = await signedCall(env.sfn.endpoint, 'Frobnicate', '{}');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { __type: string }).__type).toMatch(/UnknownOperationException$/);
  });

  test('the API checks SigV4 as AWS does: unsigned, wrong secret, unknown key or a changed body are refused, nothing starts', async () => {
    const env = await setUp();
    sfn = env.sfn;
    const start = JSON.stringify({ stateMachineArn: env.stateMachineArn, name: 'unsigned', input: '{"message":"m"}' });
    const clientWith = (credentials: typeof LOCAL_CREDENTIALS) =>
      new SFNClient({ endpoint: env.sfn.endpoint, region: LOCAL_REGION, credentials, maxAttempts: 1 });

    const unsigned = await fetch(env.sfn.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AWSStepFunctions.StartExecution' },
      body: start,
    });
    const bodySwapped = await signedCall(
      env.sfn.endpoint,
      'StartExecution',
      start,
      start.replace('unsigned', 'swapped'),
    );
    const wrongSecret = clientWith({ ...LOCAL_CREDENTIALS, secretAccessKey: 'not-the-secret' }).send(
      new StartExecutionCommand({ stateMachineArn: env.stateMachineArn, input: '{}' }),
    );
    const unknownKey = clientWith({ ...LOCAL_CREDENTIALS, accessKeyId: 'AKIDUNKNOWN' }).send(
      new ListStateMachinesCommand({}),
    );

    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toEqual({
      __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
    expect(bodySwapped.status).toBe(403);
    expect(((await bodySwapped.json()) as { __type: string }).__type).toBe(
      'com.amazon.coral.service#InvalidSignatureException',
    );
    await expect(wrongSecret).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringMatching(/^The request signature we calculated does not match/),
    });
    await expect(unknownKey).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
    expect(
      (await env.client.send(new ListExecutionsCommand({ stateMachineArn: env.stateMachineArn }))).executions,
    ).toEqual([]);
  });

  test('ListExecutions: newest first, statusFilter, pages; StopExecution aborts', async () => {
    const env = await setUp({ pollsUntilDone: 1_000_000 });
    sfn = env.sfn;
    const { client, stateMachineArn } = env;
    const started: string[] = [];
    for (const name of ['first', 'second', 'third']) {
      started.push(
        (await client.send(new StartExecutionCommand({ stateMachineArn, name, input: '{"message":"m"}' })))
          .executionArn!,
      );
    }
    await client.send(
      new StopExecutionCommand({ executionArn: started[1], error: 'Operator', cause: 'stopped by the test' }),
    );
    const stopped = await settled(client, started[1]);
    expect(stopped).toMatchObject({
      status: 'ABORTED',
      error: 'Operator',
      cause: 'stopped by the test',
      redriveStatus: 'REDRIVABLE',
    });
    expect((await history(client, started[1])).at(-1)!.type).toBe('ExecutionAborted');

    const all = await client.send(new ListExecutionsCommand({ stateMachineArn }));
    expect(all.executions!.map((e) => e.name)).toEqual(['third', 'second', 'first']);
    expect(all.executions![0]).toMatchObject({ stateMachineArn, status: 'RUNNING' });
    expect(all.executions![0].startDate).toBeInstanceOf(Date);
    const aborted = await client.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'ABORTED' }));
    expect(aborted.executions!.map((e) => e.name)).toEqual(['second']);
    const firstPage = await client.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 2 }));
    const secondPage = await client.send(
      new ListExecutionsCommand({ stateMachineArn, maxResults: 2, nextToken: firstPage.nextToken }),
    );
    expect([...firstPage.executions!, ...secondPage.executions!].map((e) => e.name)).toEqual([
      'third',
      'second',
      'first',
    ]);
    expect(secondPage.nextToken).toBeUndefined();

    const reversed = await client.send(
      new GetExecutionHistoryCommand({ executionArn: started[0], reverseOrder: true, maxResults: 1 }),
    );
    expect(reversed.events![0].id).toBeGreaterThan(1);
    expect(reversed.nextToken).toBeDefined();
    const { stateMachines } = await client.send(new ListStateMachinesCommand({}));
    expect(stateMachines).toEqual([expect.objectContaining({ stateMachineArn, name: 'broadcast', type: 'STANDARD' })]);
  });
});

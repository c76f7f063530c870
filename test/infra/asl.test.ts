import { readFileSync } from 'node:fs';
import * as path from 'node:path';

// asl-validator ships no types: it is a function of the definition returning {isValid, errors}.
const aslValidator: (definition: unknown) => { isValid: boolean; errors: unknown[] } = require('asl-validator');

const definition = JSON.parse(readFileSync(path.join(__dirname, '../../statemachines/broadcast.asl.json'), 'utf8'));

test('statemachines/broadcast.asl.json is valid Amazon States Language', () => {
  const { isValid, errors } = aslValidator(definition);
  expect(errors).toEqual([]);
  expect(isValid).toBe(true);
});

test('the validator catches a broken Distributed Map (so the test above can fail)', () => {
  const broken = structuredClone(definition);
  broken.States.FanOut.ItemProcessor.ProcessorConfig.Mode = 'PARALLEL';
  expect(aslValidator(broken).isValid).toBe(false);
});

/** Every error name Step Functions defines (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html); custom names must not start with "States.". */
const STEP_FUNCTIONS_ERRORS = new Set([
  'States.ALL',
  'States.BranchFailed',
  'States.DataLimitExceeded',
  'States.ExceedToleratedFailureThreshold',
  'States.HeartbeatTimeout',
  'States.Http.Socket',
  'States.IntrinsicFailure',
  'States.ItemReaderFailed',
  'States.NoChoiceMatched',
  'States.ParameterPathFailure',
  'States.Permissions',
  'States.QueryEvaluationError',
  'States.ResultPathMatchFailure',
  'States.ResultWriterFailed',
  'States.Runtime',
  'States.TaskFailed',
  'States.Timeout',
]);

/** Every ErrorEquals entry and Fail state error, anywhere in the definition. */
function errorNames(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(errorNames);
  if (typeof node !== 'object' || node === null) return [];
  const record = node as Record<string, unknown>;
  const own = [
    ...((record.ErrorEquals as string[] | undefined) ?? []),
    ...(record.Type === 'Fail' && typeof record.Error === 'string' ? [record.Error] : []),
  ];
  return [...own, ...Object.values(record).flatMap(errorNames)];
}

test('the ASL names no States.* error that Step Functions does not define', () => {
  const names = errorNames(definition);
  expect(names.length).toBeGreaterThan(0);
  expect(names.filter((name) => name.startsWith('States.') && !STEP_FUNCTIONS_ERRORS.has(name))).toEqual([]);
});

test("map children output nothing, so the Map's result stays small at 10,000 partitions", () => {
  const child = definition.States.FanOut.ItemProcessor.States.QueryPartitions;
  expect(child.OutputPath).toBeNull();
  expect(definition.States.FanOut.ResultPath).toBeNull();
});

/** The next state a Choice state picks for `input`: only the rule kinds the ASL uses (Variable + BooleanEquals); any other fails the test. */
function choose(stateName: string, input: unknown): string {
  const state = definition.States[stateName];
  expect(state.Type).toBe('Choice');
  for (const rule of state.Choices as Record<string, unknown>[]) {
    const { Variable, BooleanEquals, Next, ...rest } = rule;
    expect(Object.keys(rest)).toEqual([]);
    const value = String(Variable)
      .replace(/^\$\./, '')
      .split('.')
      .reduce<any>((node, key) => node?.[key], input);
    if (value === BooleanEquals) return Next as string;
  }
  return state.Default;
}

/** Follows Choice states from `stateName` until a state of another type. */
function route(stateName: string, progress: Record<string, boolean>): string {
  let name = stateName;
  while (definition.States[name].Type === 'Choice') name = choose(name, { status: { progress } });
  return name;
}

describe("the decisions the ASL makes on ReadProgress's answer", () => {
  test.each([
    [
      'every socket accounted for, failures within the tolerance',
      'Summary',
      { done: true, timedOut: false, failedSocketsTolerated: true },
    ],
    [
      'every socket accounted for, failures past the tolerance',
      'DeliveryIncomplete',
      { done: true, timedOut: false, failedSocketsTolerated: false },
    ],
    [
      'accounted for as the deadline passes: the counts decide, not the clock',
      'Summary',
      { done: true, timedOut: true, failedSocketsTolerated: true },
    ],
    ['not done, deadline passed', 'DeliveryTimedOut', { done: false, timedOut: true, failedSocketsTolerated: true }],
    ['not done, deadline ahead', 'AwaitDelivery', { done: false, timedOut: false, failedSocketsTolerated: true }],
  ])('%s → %s', (_, next, progress) => {
    expect(route('Delivered?', progress)).toBe(next);
  });

  test("past the tolerance the execution fails with DeliveryIncomplete and ReadProgress's cause; past the deadline, with DeliveryTimeout", () => {
    expect(definition.States.DeliveryIncomplete).toMatchObject({
      Type: 'Fail',
      Error: 'DeliveryIncomplete',
      CausePath: '$.status.progress.cause',
    });
    expect(definition.States.DeliveryTimedOut).toMatchObject({ Type: 'Fail', Error: 'DeliveryTimeout' });
  });

  test('ReadProgress is given the configured failed-sockets tolerance, and the Map the partitions tolerance', () => {
    expect(definition.States.ReadProgress.Parameters.Payload['toleratedFailedSocketsPercentage.$']).toBe(
      '$.config.toleratedFailedSocketsPercentage',
    );
    expect(definition.States.FanOut.ToleratedFailurePercentagePath).toBe('$.config.toleratedFailurePercentage');
  });
});

describe('which errors each Task retries', () => {
  const LAMBDA_SERVICE_ERRORS = [
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
  ];
  const retried = (state: { Retry?: { ErrorEquals: string[] }[] }) =>
    (state.Retry ?? []).flatMap((retry) => retry.ErrorEquals).sort();

  test.each([
    ['Prepare', definition.States.Prepare, LAMBDA_SERVICE_ERRORS],
    // A child throttled or cut off from DynamoDB or SQS is tried again; the partitions it enqueued are skipped then.
    [
      'QueryPartitions',
      definition.States.FanOut.ItemProcessor.States.QueryPartitions,
      [...LAMBDA_SERVICE_ERRORS, 'ThrottledError', 'UnavailableError'],
    ],
    ['ReadProgress', definition.States.ReadProgress, [...LAMBDA_SERVICE_ERRORS, 'UnavailableError']],
  ])(
    '%s: Lambda service errors and the transient errors its handler names, never States.ALL or States.TaskFailed (a bad input or a bug fails at once)',
    (_, state, expected) => {
      expect(retried(state)).toEqual([...expected].sort());
    },
  );
});

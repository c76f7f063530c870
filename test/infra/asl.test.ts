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
  const own = [...((record.ErrorEquals as string[] | undefined) ?? []), ...(record.Type === 'Fail' && typeof record.Error === 'string' ? [record.Error] : [])];
  return [...own, ...Object.values(record).flatMap(errorNames)];
}

test('the ASL names no States.* error that Step Functions does not define', () => {
  const names = errorNames(definition);
  expect(names.length).toBeGreaterThan(0);
  expect(names.filter((name) => name.startsWith('States.') && !STEP_FUNCTIONS_ERRORS.has(name))).toEqual([]);
});

test('map children output nothing, so the Map\'s result stays small at 10,000 partitions', () => {
  const child = definition.States.FanOut.ItemProcessor.States.QueryPartitions;
  expect(child.OutputPath).toBeNull();
  expect(definition.States.FanOut.ResultPath).toBeNull();
});

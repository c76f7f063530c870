/**
 * #commons/settings: a handler's settings come from the environment within the one definition of
 * their bounds, and a missing or out-of-bounds variable fails naming the variable, the value and
 * the allowed range.
 */
import { ConfigurationError } from '#commons/errors';
import { readSettings, SETTINGS } from '#commons/settings';
import { bounds } from '../../../../infra/config';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

test.each([
  ['postConcurrency', 'POST_CONCURRENCY', 1, 1_000],
  ['partitions', 'PARTITION_COUNT', 1, 10_000],
  ['toleratedFailurePercentage', 'TOLERATED_FAILURE_PERCENTAGE', 0, 100],
] as const)('%s: both edges of its bounds are read, one past either edge is refused', (name, variable, min, max) => {
  for (const edge of [min, max]) {
    process.env[variable] = String(edge);
    expect(readSettings([name])[name]).toBe(edge);
  }
  for (const outside of [min - 1, max + 1]) {
    process.env[variable] = String(outside);
    expect(() => readSettings([name])).toThrow(
      new ConfigurationError(`environment variable ${variable}="${outside}" must be an integer from ${min} to ${max}`),
    );
  }
});

test('an unset variable fails naming it', () => {
  delete process.env.QUERY_CONCURRENCY;

  expect(() => readSettings(['connectionIdsPerMessage', 'queryConcurrency'])).toThrow(
    new ConfigurationError('environment variable QUERY_CONCURRENCY is required but not set'),
  );
});

test('a flag reads 1 as true and 0 as false, and nothing else', () => {
  process.env.BROADCAST_ID_ENVELOPE = '1';
  expect(readSettings(['broadcastIdEnvelope'])).toEqual({ broadcastIdEnvelope: true });
  process.env.BROADCAST_ID_ENVELOPE = '0';
  expect(readSettings(['broadcastIdEnvelope'])).toEqual({ broadcastIdEnvelope: false });
  process.env.BROADCAST_ID_ENVELOPE = 'true';
  expect(() => readSettings(['broadcastIdEnvelope'])).toThrow(
    'BROADCAST_ID_ENVELOPE="true" must be an integer from 0 to 1',
  );
});

test("the configuration's bounds are the settings' bounds, every number included", () => {
  for (const [name, definition] of Object.entries(SETTINGS)) {
    if ('flag' in definition) expect(bounds).not.toHaveProperty(name);
    else expect(bounds).toHaveProperty(name, definition.bounds);
  }
});

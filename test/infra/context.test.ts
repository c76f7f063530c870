import { InvalidConfigError, resolveConfig } from '../../infra/config';
import { configOverridesFromContext, flagFromContext, stackNameFromContext } from '../../infra/context';

/** Context as `cdk synth -c key=value` and cdk.json deliver it. */
const context = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

test('numeric settings given as strings by -c become numbers; string settings stay strings', () => {
  const overrides = configOverridesFromContext(
    context({ swarmcast: { shards: '20', partitions: ' 5_000 ', stageName: '2' } }),
  );
  expect(overrides).toEqual({ shards: 20, partitions: 5_000, stageName: '2' });
  expect(resolveConfig(overrides)).toMatchObject({ shards: 20, partitions: 5_000, stageName: '2' });
});

test('the swarmcast object may arrive as a JSON string, and single keys override it', () => {
  const overrides = configOverridesFromContext(
    context({ swarmcast: '{"shards": 4, "mapMaxConcurrency": 8}', 'swarmcast:shards': '6' }),
  );
  expect(overrides).toEqual({ shards: 6, mapMaxConcurrency: 8 });
});

test('cdk.json numbers pass through; an empty object means the defaults', () => {
  expect(configOverridesFromContext(context({ swarmcast: { shards: 3 } }))).toEqual({ shards: 3 });
  expect(configOverridesFromContext(context({ swarmcast: {} }))).toEqual({});
  expect(configOverridesFromContext(context({}))).toEqual({});
});

test('what is not a number stays as given, so validation names the setting', () => {
  const overrides = configOverridesFromContext(context({ 'swarmcast:shards': 'ten' }));
  expect(overrides).toEqual({ shards: 'ten' });
  expect(() => resolveConfig(overrides)).toThrow(/shards="ten"/);
  expect(() => resolveConfig(configOverridesFromContext(context({ 'swarmcast:shards': '2.5' })))).toThrow(/shards=2.5/);
});

test('a swarmcast context that is not an object fails with InvalidConfigError', () => {
  expect(() => configOverridesFromContext(context({ swarmcast: '{nope' }))).toThrow(InvalidConfigError);
  expect(() => configOverridesFromContext(context({ swarmcast: [1] }))).toThrow(InvalidConfigError);
});

test('flags accept true and "true" only', () => {
  expect(flagFromContext(context({ f: true }), 'f')).toBe(true);
  expect(flagFromContext(context({ f: 'true' }), 'f')).toBe(true);
  expect(flagFromContext(context({ f: 'false' }), 'f')).toBe(false);
  expect(flagFromContext(context({}), 'f')).toBe(false);
});

test('switches given as "true" / "false" by -c become booleans; anything else is named by validation', () => {
  expect(
    configOverridesFromContext(context({ 'swarmcast:accessLogs': 'true', 'swarmcast:broadcastIdEnvelope': 'false' })),
  ).toEqual({ accessLogs: true, broadcastIdEnvelope: false });
  expect(() => resolveConfig(configOverridesFromContext(context({ 'swarmcast:accessLogs': 'on' })))).toThrow(
    /accessLogs="on" must be true or false/,
  );
});

test('-c swarmcast:stackName names the stack (two stacks in one account); a bad name is refused by name', () => {
  expect(stackNameFromContext(context({}), 'Swarmcast')).toBe('Swarmcast');
  expect(stackNameFromContext(context({ 'swarmcast:stackName': 'Swarmcast-B' }), 'Swarmcast')).toBe('Swarmcast-B');
  expect(() => stackNameFromContext(context({ 'swarmcast:stackName': '2nd stack' }), 'Swarmcast')).toThrow(
    /swarmcast:stackName="2nd stack" must be a CloudFormation stack name/,
  );
  // The unprefixed key and the -c sharedRateBudgetTable setting reach the config as strings.
  expect(configOverridesFromContext(context({ 'swarmcast:sharedRateBudgetTable': 'Swarmcast-RateBudget-X' }))).toEqual({
    sharedRateBudgetTable: 'Swarmcast-RateBudget-X',
  });
});

/** `--set KEY=VALUE` as `plan`, `local` and `demo` read it: the CDK app's parser and bounds. */
import { overridesFromSettings } from '../../../cli/settings';
import { CliError } from '../../../cli/errors';

test('numbers become numbers, only the given keys are overrides, and the resolved config follows them', () => {
  const { overrides, config } = overridesFromSettings([
    'deliveryTimeoutSeconds=10',
    'toleratedFailedSocketsPercentage=2',
    'stageName=beta',
  ]);
  expect(overrides).toEqual({ deliveryTimeoutSeconds: 10, toleratedFailedSocketsPercentage: 2, stageName: 'beta' });
  expect(config).toMatchObject({
    deliveryTimeoutSeconds: 10,
    toleratedFailedSocketsPercentage: 2,
    stageName: 'beta',
    shards: 10,
  });
});

test('an unknown key or an out-of-bounds value is one CliError line naming it', () => {
  expect(() => overridesFromSettings(['deliveryTimeoutSeconds=5'])).toThrow(
    new CliError('--set: swarmcast setting deliveryTimeoutSeconds=5 must be an integer from 10 to 86400'),
  );
  expect(() => overridesFromSettings(['shardz=3'])).toThrow(/^--set: unknown swarmcast setting "shardz"/);
});

test('only own keys of the config are settings: constructor, toString and __proto__ are unknown keys', () => {
  for (const key of ['constructor', 'toString', 'hasOwnProperty']) {
    expect(() => overridesFromSettings([`${key}=1`])).toThrow(
      new RegExp(`^--set: unknown swarmcast setting "${key}"; known settings: `),
    );
  }
});

test('a number setting takes plain decimal digits only', () => {
  for (const value of ['0x10', ' 20 ', '2_0', '1e1', '+20']) {
    expect(() => overridesFromSettings([`shards=${value}`])).toThrow(
      new CliError(`--set: shards must be a whole number in decimal digits, not ${JSON.stringify(value)}`),
    );
  }
});

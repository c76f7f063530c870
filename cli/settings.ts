/**
 * `--set KEY=VALUE`: a setting of infra/config.ts, parsed and validated exactly as
 * `cdk deploy -c swarmcast:KEY=VALUE` is, for `plan`, `local` and `demo` alike.
 */
import { InvalidArgumentError } from 'commander';
import { configOverridesFromContext } from '../infra/context';
import { defaultConfig, InvalidConfigError, resolveConfig, type SwarmcastConfig } from '../infra/config';
import { CliError } from './errors';

export const SET_OPTION_HELP =
  'a setting of infra/config.ts other than its default, as deployed with -c swarmcast:KEY=VALUE (repeatable)';

/** Commander's argParser for a repeatable --set. */
export function collectSetting(value: string, previous: string[] = []): string[] {
  if (!/^[A-Za-z]+=.+$/.test(value))
    throw new InvalidArgumentError('--set must be KEY=VALUE, a setting of infra/config.ts, e.g. --set shards=20.');
  return [...previous, value];
}

/** The --set pairs as overrides of infra/config.ts, checked by resolveConfig; a bad one is a one-line CliError. */
export function overridesFromSettings(settings: readonly string[] = []): {
  overrides: Partial<SwarmcastConfig>;
  config: SwarmcastConfig;
} {
  const pairs = Object.fromEntries(
    settings.map((setting) => [setting.slice(0, setting.indexOf('=')), setting.slice(setting.indexOf('=') + 1)]),
  );
  for (const [key, value] of Object.entries(pairs)) {
    // Own keys only: "constructor" or "toString" are in every object, not settings.
    if (!Object.hasOwn(defaultConfig, key))
      throw new CliError(
        `--set: unknown swarmcast setting "${key}"; known settings: ${Object.keys(defaultConfig).join(', ')}`,
      );
    if (typeof defaultConfig[key as keyof SwarmcastConfig] === 'number' && !/^\d+$/.test(value)) {
      throw new CliError(`--set: ${key} must be a whole number in decimal digits, not ${JSON.stringify(value)}`);
    }
  }
  try {
    const overrides = configOverridesFromContext({
      tryGetContext: (key) => (key === 'swarmcast' ? pairs : undefined),
    }) as Partial<SwarmcastConfig>;
    return { overrides, config: resolveConfig(overrides) };
  } catch (error) {
    if (error instanceof InvalidConfigError) throw new CliError(`--set: ${error.message}`);
    throw error;
  }
}

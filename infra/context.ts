/** swarmcast's settings as CDK context gives them (cdk.json or `-c`), read for infra/app.ts. */
import { defaultConfig, InvalidConfigError, type SwarmcastConfig } from './config';

type Overrides = Partial<Record<keyof SwarmcastConfig, unknown>>;

/** Reads CDK context the way an App's node does: by key, undefined when unset. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

/**
 * Config overrides from CDK context: the `swarmcast` object of cdk.json, or the same object as
 * JSON from `-c swarmcast='{"shards":20}'`, then single keys `-c swarmcast:shards=20` on top.
 * `-c` delivers strings, so numeric settings given as numeric strings become numbers;
 * anything else is passed on unchanged for resolveConfig to reject by name.
 */
export function configOverridesFromContext(context: ContextSource): Overrides {
  const overrides: Record<string, unknown> = { ...parseObject(context.tryGetContext('swarmcast')) };
  for (const key of Object.keys(defaultConfig)) {
    const value = context.tryGetContext(`swarmcast:${key}`);
    if (value !== undefined) overrides[key] = value;
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (typeof defaultConfig[key as keyof SwarmcastConfig] === 'number') overrides[key] = toNumber(value);
    if (typeof defaultConfig[key as keyof SwarmcastConfig] === 'boolean') overrides[key] = toBoolean(value);
  }
  return overrides as Overrides;
}

function parseObject(raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === null || raw === '') return {};
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new InvalidConfigError(`context "swarmcast" must be a JSON object, got ${JSON.stringify(raw)}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidConfigError(`context "swarmcast" must be an object of settings, got ${JSON.stringify(raw)}`);
  }
  return value as Record<string, unknown>;
}

/** "2500" and " 2_500 " are 2500; "" and "ten" stay strings (and fail validation by name). */
function toNumber(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim().replaceAll('_', '');
  if (text === '' || !/^[+-]?\d+(\.\d+)?$/.test(text)) return value;
  return Number(text);
}

/** "true" and "false" (as `-c swarmcast:accessLogs=true` delivers them) are booleans; anything else stays (and fails validation by name). */
function toBoolean(value: unknown): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

/** A boolean switch from context: true or "true" (as `-c key=true` delivers it). */
export function flagFromContext(context: ContextSource, key: string): boolean {
  const value = context.tryGetContext(key);
  return value === true || value === 'true';
}

/**
 * The CloudFormation stack's name: `-c swarmcast:stackName=NAME`, default "Swarmcast". Two stacks in
 * one account and Region need two names (and may share one budget: sharedRateBudgetTable).
 */
export function stackNameFromContext(context: ContextSource, fallback: string): string {
  const value = context.tryGetContext('swarmcast:stackName');
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(value)) {
    throw new InvalidConfigError(
      `context swarmcast:stackName=${JSON.stringify(value)} must be a CloudFormation stack name: a letter, then up to 127 letters, digits or "-"`,
    );
  }
  return value;
}

/**
 * Reading the handlers' environment variables. Configuration is read once, at cold start.
 * A missing or malformed variable throws here, so a bad deploy fails on its first invocation
 * instead of running with NaN.
 */
import { ConfigurationError } from '#commons/errors';

/**
 * A variable's text; `fallback` when it is unset or empty. Without a fallback the variable is
 * required.
 */
export function getStringFromEnv(name: string, fallback?: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new ConfigurationError(`environment variable ${name} is required but not set`);
  }
  return value;
}

export function getIntegerFromEnv(
  name: string,
  {
    fallback,
    min = Number.MIN_SAFE_INTEGER,
    max = Number.MAX_SAFE_INTEGER,
  }: { fallback?: number; min?: number; max?: number } = {},
): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new ConfigurationError(`environment variable ${name} is required but not set`);
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(
      `environment variable ${name}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/**
 * Where the shard queues are: shard k's queue URL is `<prefix><k>`. The stack (and the local
 * stack) name their queues that way, so one prefix and a count reach the handlers whatever the
 * number of shards — a list of URLs would pass Lambda's 4 KB environment limit at ~35 shards.
 */
import { ENV } from '#commons/environment';
import { ConfigurationError } from '#commons/errors';
import { getIntegerFromEnv, getStringFromEnv } from '#commons/helpers/env';
import { SETTINGS } from '#commons/settings';

export const shardQueueUrl = (prefix: string, shard: number): string => `${prefix}${shard}`;

export function shardQueueUrls(prefix: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, shard) => shardQueueUrl(prefix, shard));
}

/** The prefix shared by URLs that follow `<prefix><k>` for k = 0, 1, …, for the local stack's environment. */
export function shardQueueUrlPrefix(urls: readonly string[]): string {
  const prefix = urls[0]?.replace(/0$/, '') ?? '';
  if (urls.length === 0 || urls.some((url, shard) => url !== shardQueueUrl(prefix, shard))) {
    throw new ConfigurationError(
      `shard queue URLs must end in their shard number after one shared prefix, got ${urls.join(', ')}`,
    );
  }
  return prefix;
}

/** Shard queue URLs from SHARD_QUEUE_URL_PREFIX and SHARD_COUNT, the count within the `shards` setting's bounds. */
export function shardQueueUrlsFromEnv(): string[] {
  const [min, max] = SETTINGS.shards.bounds;
  return shardQueueUrls(getStringFromEnv(ENV.shardQueueUrlPrefix), getIntegerFromEnv(ENV.shardCount, { min, max }));
}

/**
 * Channels: their names and the rules a name must follow, the `?channels=` list of $connect, the
 * authorizer's `allowedChannels` patterns, and the keys a channel's members are stored under
 * (docs/channels.md). The same rules run in $connect, the subscribe route, Prepare and the CLI.
 */
import { partitionOf } from '#commons/partitions';

/** 1–64 characters, each a letter, digit, "_", ".", ":" or "-": safe in a URL, a key and a log line. */
const CHANNEL_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
export const CHANNEL_NAME_RULE = '1–64 characters, each a letter, a digit, "_", ".", ":" or "-"';

/** A channel name, a channel list or an authorizer's pattern that breaks the rules; the message says which rule. */
export class InvalidChannelError extends Error {
  override name = 'InvalidChannelError';
}

/** The name itself, checked: `what` names where it came from in the message. */
export function parseChannelName(value: unknown, what = 'channel'): string {
  if (typeof value !== 'string' || !CHANNEL_NAME.test(value)) {
    throw new InvalidChannelError(
      `${what} ${JSON.stringify(value)} is not a channel name: it must be ${CHANNEL_NAME_RULE}`,
    );
  }
  return value;
}

/**
 * The `channels` query parameter of $connect: comma-separated names, at most `max`, none twice.
 * Absent or empty: no channel. Every name is checked before anything is stored.
 */
export function parseChannelList(value: string | undefined, max: number): string[] {
  if (value === undefined || value === '') return [];
  const names = value.split(',').map((name) => parseChannelName(name, 'channels='));
  if (names.length > max) {
    throw new InvalidChannelError(`channels= names ${names.length} channels; a connection may be in at most ${max}`);
  }
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined)
    throw new InvalidChannelError(`channels= names "${repeated}" twice; name each channel once`);
  return names;
}

/**
 * The authorizer's `allowedChannels` context value: comma-separated patterns, each a channel name
 * that may end in "*" (any rest: "room-*"), or "*" alone. API Gateway passes context values as
 * strings, numbers or booleans only, hence one string. Absent: every channel is allowed.
 */
export function parseAllowedChannels(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new InvalidChannelError(
      `the authorizer's allowedChannels must be a string of comma-separated patterns, not ${JSON.stringify(value)}`,
    );
  }
  if (value === '') return [];
  return value.split(',').map((pattern) => {
    const name = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
    if (name !== '') parseChannelName(name, "the authorizer's allowedChannels pattern");
    return pattern;
  });
}

/** Whether `channel` matches one of the patterns (undefined: no limit). */
export function isChannelAllowed(channel: string, allowed: readonly string[] | undefined): boolean {
  if (allowed === undefined) return true;
  return allowed.some((pattern) =>
    pattern.endsWith('*') ? channel.startsWith(pattern.slice(0, -1)) : channel === pattern,
  );
}

/** The first of `channels` the patterns do not allow, or undefined. */
export function firstDisallowed(
  channels: readonly string[],
  allowed: readonly string[] | undefined,
): string | undefined {
  return channels.find((channel) => !isChannelAllowed(channel, allowed));
}

/**
 * Which of a channel's partitions a connection's membership lives in: the same hash as its
 * connection partition (functions/commons/partitions.ts) over the channel partition count, so a
 * connection sits in partition p of every channel it joins. ("Partition", not "shard": a shard is a queue here.)
 */
export function channelPartitionOf(connectionId: string, channelPartitions: number): number {
  return partitionOf(connectionId, channelPartitions);
}

/** The Subscriptions table's partition key of partition `partition` of `channel`: "room-1#7". */
export function channelPartitionKey(channel: string, partition: number): string {
  return `${channel}#${partition}`;
}

/** The channel rules of functions/commons/channels.ts: names, the ?channels= list, the authorizer's patterns, the keys. */
import {
  channelPartitionKey,
  channelPartitionOf,
  firstDisallowed,
  InvalidChannelError,
  isChannelAllowed,
  parseAllowedChannels,
  parseChannelList,
  parseChannelName,
} from '#commons/channels';
import { partitionOf } from '#commons/partitions';

const RULE = 'it must be 1–64 characters, each a letter, a digit, "_", ".", ":" or "-"';

describe('parseChannelName', () => {
  it.each(['a', 'room-1', 'match:2026.final', 'A_b', 'x'.repeat(64)])('takes %j', (name) => {
    expect(parseChannelName(name)).toBe(name);
  });

  it.each([
    ['', '""'],
    ['x'.repeat(65), `"${'x'.repeat(65)}"`],
    ['has space', '"has space"'],
    ['a#1', '"a#1"'],
    ['a,b', '"a,b"'],
    ['é', '"é"'],
    [7, '7'],
    [undefined, 'undefined'],
  ])('refuses %j, saying what is allowed', (value, shown) => {
    expect(() => parseChannelName(value, '"channel"')).toThrow(InvalidChannelError);
    expect(() => parseChannelName(value, '"channel"')).toThrow(`"channel" ${shown} is not a channel name: ${RULE}`);
  });
});

describe('parseChannelList', () => {
  it('reads comma-separated names; absent or empty is no channel', () => {
    expect(parseChannelList('red,blue', 10)).toEqual(['red', 'blue']);
    expect(parseChannelList(undefined, 10)).toEqual([]);
    expect(parseChannelList('', 10)).toEqual([]);
  });

  it('refuses a bad name, an empty entry, a repeat and more than the maximum', () => {
    expect(() => parseChannelList('red,bad name', 10)).toThrow(`channels= "bad name" is not a channel name: ${RULE}`);
    expect(() => parseChannelList('red,,blue', 10)).toThrow('channels= "" is not a channel name');
    expect(() => parseChannelList('red,red', 10)).toThrow('channels= names "red" twice; name each channel once');
    expect(() => parseChannelList('a,b,c', 2)).toThrow('channels= names 3 channels; a connection may be in at most 2');
  });
});

describe("the authorizer's allowedChannels", () => {
  it('absent allows every channel; empty allows none', () => {
    expect(parseAllowedChannels(undefined)).toBeUndefined();
    expect(isChannelAllowed('any', undefined)).toBe(true);
    expect(parseAllowedChannels('')).toEqual([]);
    expect(isChannelAllowed('any', [])).toBe(false);
  });

  it('matches exact names and trailing-* prefixes', () => {
    const allowed = parseAllowedChannels('lobby,room-*');
    expect(allowed).toEqual(['lobby', 'room-*']);
    expect(isChannelAllowed('lobby', allowed)).toBe(true);
    expect(isChannelAllowed('room-7', allowed)).toBe(true);
    expect(isChannelAllowed('room', allowed)).toBe(false);
    expect(isChannelAllowed('lobby2', allowed)).toBe(false);
    expect(firstDisallowed(['lobby', 'room-1', 'vip', 'x'], allowed)).toBe('vip');
    expect(isChannelAllowed('anything', parseAllowedChannels('*'))).toBe(true);
  });

  it('refuses a pattern that is no channel name and a value that is not a string', () => {
    expect(() => parseAllowedChannels('ok,bad pattern*')).toThrow(
      `the authorizer's allowedChannels pattern "bad pattern" is not a channel name`,
    );
    expect(() => parseAllowedChannels(['a'])).toThrow(
      `the authorizer's allowedChannels must be a string of comma-separated patterns, not ["a"]`,
    );
  });
});

describe('keys', () => {
  it("a membership's partition is the id's hash over the channel partitions, the same in every channel", () => {
    const id = 'Ab3dEfGhIjKlMn=';
    expect(channelPartitionOf(id, 10)).toBe(partitionOf(id, 10));
    expect(channelPartitionKey('room-1', channelPartitionOf(id, 10))).toBe(`room-1#${partitionOf(id, 10)}`);
  });

  it('spreads ids over every partition of a channel', () => {
    const partitions = new Set(Array.from({ length: 1000 }, (_, i) => channelPartitionOf(`conn-${i}=`, 10)));
    expect([...partitions].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

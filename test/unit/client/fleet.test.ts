/**
 * The fleet file (client/fleet.ts): what it accepts, what it refuses and how it says so, and the
 * weighted rendezvous ranking: each cell's share near its weight, and a cell added or removed
 * moving only the clients it must.
 */
import { AWS_LIMITS } from '#commons/aws-limits';
import { type Fleet, FleetFileError, MAX_FLEET_CELLS, parseFleet, rankCells, unitHash } from '../../../client/fleet';

const cell = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  url: `wss://${name}.execute-api.eu-west-1.amazonaws.com/live`,
  region: 'eu-west-1',
  ...extra,
});
const fleetOf = (...cells: Record<string, unknown>[]): Fleet => parseFleet({ cells });
const KEYS = Array.from({ length: 100_000 }, (_, i) => `client-${i}`);

/** How many of KEYS rank each cell first. */
function firstChoices(fleet: Fleet): Map<string, number> {
  const counts = new Map(fleet.cells.map((c) => [c.name, 0]));
  for (const key of KEYS) {
    const first = rankCells(fleet, key)[0].name;
    counts.set(first, counts.get(first)! + 1);
  }
  return counts;
}

describe('parseFleet', () => {
  it('reads the documented fields, defaults the weight to 1, and reads https:// as wss://', () => {
    const fleet = parseFleet(
      JSON.stringify({
        cells: [
          {
            name: 'eu-1',
            url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/live',
            weight: 2,
            region: 'eu-west-1',
            account: '111122223333',
            stack: 'Swarmcast',
            stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:broadcast',
          },
          { name: 'local', url: 'ws://127.0.0.1:3001', region: 'us-east-1' },
        ],
      }),
    );

    expect(fleet.cells).toEqual([
      {
        name: 'eu-1',
        url: 'wss://abc123.execute-api.eu-west-1.amazonaws.com/live',
        weight: 2,
        region: 'eu-west-1',
        account: '111122223333',
        stack: 'Swarmcast',
        stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:broadcast',
      },
      { name: 'local', url: 'ws://127.0.0.1:3001/', weight: 1, region: 'us-east-1' },
    ]);
  });

  it(`bounds the cells at ${MAX_FLEET_CELLS}: what one inline Map state starts at once (the coordinator's)`, () => {
    expect(MAX_FLEET_CELLS).toBe(AWS_LIMITS.stepFunctionsInlineMapConcurrency.value);
    const cells = Array.from({ length: MAX_FLEET_CELLS }, (_, i) => cell(`c${i}`));

    expect(parseFleet({ cells }).cells).toHaveLength(MAX_FLEET_CELLS);
    expect(() => parseFleet({ cells: [...cells, cell('one-more')] })).toThrow(
      'fleet file: "cells" must be an array of 1 to 40 cells, got 41',
    );
  });

  it.each([
    ['{', /^fleet file: not JSON \(/],
    [[], /^fleet file: must be a JSON object \{ "cells": \[\.\.\.\] \}, got an array$/],
    [{ cells: [] }, /^fleet file: "cells" must be an array of 1 to 40 cells, got 0$/],
    [{ cell: [] }, /^fleet file: unknown field "cell" at the top; allowed: "cells", "coordinator"$/],
    [
      { cells: [cell('a'), cell('a', { url: 'wss://b.example/live' })] },
      /cells\[1\]\.name "a" is also cells\[0\]'s; names must be unique$/,
    ],
    [
      { cells: [cell('a'), { ...cell('b'), url: cell('a').url }] },
      /cells\[1\]\.url ".+" is also cells\[0\]'s; each cell has its own API$/,
    ],
    [
      { cells: [cell('a', { weight: 0 })] },
      /cells\[0\]\.weight must be a positive number \(the cell's share of clients; default 1\), got 0$/,
    ],
    [{ cells: [cell('a', { weight: '2' })] }, /cells\[0\]\.weight must be a positive number .+, got "2"$/],
    [
      { cells: [cell('a', { url: 'ws://cells.example.com/live' })] },
      /cells\[0\]\.url must be wss:\/\/ \(or https:\/\/\), or ws:\/\/ on loopback .+, got "ws:\/\/cells\.example\.com\/live"$/,
    ],
    [{ cells: [cell('a', { url: 'ftp://x' })] }, /cells\[0\]\.url must be wss:\/\//],
    [{ cells: [cell('a', { url: 'not a url' })] }, /cells\[0\]\.url must be a URL, wss:\/\//],
    [{ cells: [cell('a', { url: 'wss://x.example/live#top' })] }, /cells\[0\]\.url must not have a #fragment/],
    [{ cells: [cell('a b')] }, /cells\[0\]\.name must be 1 to 40 letters, digits, "-" or "_" .+, got "a b"$/],
    [
      { cells: [cell('a', { region: 'Europe' })] },
      /cells\[0\]\.region must be an AWS Region such as "eu-west-1", got "Europe"$/,
    ],
    [
      { cells: [cell('a', { account: 111122223333 })] },
      /cells\[0\]\.account must be a 12-digit AWS account id as a string, got 111122223333$/,
    ],
    [{ cells: [cell('a', { stack: '1stack' })] }, /cells\[0\]\.stack must be a CloudFormation stack name/],
    [
      { cells: [cell('a', { stateMachineArn: 'broadcast' })] },
      /cells\[0\]\.stateMachineArn must be a state machine ARN/,
    ],
    [
      { cells: [cell('a', { stateMachineArn: 'arn:aws:states:us-east-1:111122223333:stateMachine:b' })] },
      /cells\[0\]\.stateMachineArn is in Region us-east-1, but the cell's region is eu-west-1$/,
    ],
    [
      {
        cells: [
          cell('a', {
            account: '111122223333',
            stateMachineArn: 'arn:aws:states:eu-west-1:444455556666:stateMachine:b',
          }),
        ],
      },
      /cells\[0\]\.stateMachineArn is in account 444455556666, but the cell's account is 111122223333$/,
    ],
    [
      { cells: [cell('a', { wieght: 2 })] },
      /cells\[0\] has an unknown field "wieght"; allowed: "name", "url", "weight", "region"/,
    ],
    [
      { cells: ['wss://a.example'] },
      /cells\[0\] must be an object with "name", "url" and "region", got "wss:\/\/a\.example"$/,
    ],
  ])('refuses %j, saying what is wrong and what is allowed', (input, message) => {
    expect(() => parseFleet(input)).toThrow(FleetFileError);
    expect(() => parseFleet(input)).toThrow(message);
  });

  it('names the file it read in the message', () => {
    expect(() => parseFleet({ cells: [] }, 'fleet.json')).toThrow(/^fleet\.json: "cells"/);
  });
});

describe('rankCells: weighted rendezvous hashing', () => {
  it('hashes into (0, 1), spread evenly: each tenth of the interval holds 10 % ± 0.5 of 100,000 keys', () => {
    const hashes = KEYS.map(unitHash);
    const tenths = new Array(10).fill(0);
    for (const u of hashes) tenths[Math.floor(u * 10)]++;

    expect(Math.min(...hashes)).toBeGreaterThan(0);
    expect(Math.max(...hashes)).toBeLessThan(1);
    for (const count of tenths) expect(Math.abs(count / KEYS.length - 0.1)).toBeLessThanOrEqual(0.005);
  });

  it('gives each cell a share within 1 percentage point of its weight over the sum (100,000 keys, weights 1, 2, 3, 4)', () => {
    // One share's standard deviation at 100,000 keys is at most 0.16 points: 1 point is over 6 of them.
    const fleet = fleetOf(
      cell('a', { weight: 1 }),
      cell('b', { weight: 2 }),
      cell('c', { weight: 3 }),
      cell('d', { weight: 4 }),
    );

    const counts = firstChoices(fleet);

    for (const [name, expected] of [
      ['a', 0.1],
      ['b', 0.2],
      ['c', 0.3],
      ['d', 0.4],
    ] as const)
      expect(Math.abs(counts.get(name)! / KEYS.length - expected)).toBeLessThanOrEqual(0.01);
  });

  it('ranks every cell once, the same way every time for the same key', () => {
    const fleet = fleetOf(cell('a'), cell('b'), cell('c'));

    const ranking = rankCells(fleet, 'user-42').map((c) => c.name);

    expect([...ranking].sort()).toEqual(['a', 'b', 'c']);
    expect(rankCells(fleet, 'user-42').map((c) => c.name)).toEqual(ranking);
  });

  it('a cell added takes ~1/K of the clients, all of them from the others, and moves no one else', () => {
    const four = fleetOf(cell('a'), cell('b'), cell('c'), cell('d'));
    const five = fleetOf(cell('a'), cell('b'), cell('c'), cell('d'), cell('e'));

    const movedTo = new Map<string, number>();
    for (const key of KEYS) {
      const after = rankCells(five, key)[0].name;
      if (rankCells(four, key)[0].name !== after) movedTo.set(after, (movedTo.get(after) ?? 0) + 1);
    }

    expect([...movedTo.keys()]).toEqual(['e']);
    expect(Math.abs(movedTo.get('e')! / KEYS.length - 1 / 5)).toBeLessThanOrEqual(0.01);
  });

  it("a cell removed sends each of its clients to that client's second choice, and moves no one else", () => {
    // Without b each client's first choice is its first of a and c: b's clients go to their next, the rest stay.
    const three = fleetOf(cell('a'), cell('b'), cell('c'));
    const two = fleetOf(cell('a'), cell('c'));

    const differ = KEYS.filter((key) => {
      const secondChoiceWithoutB = rankCells(three, key).filter((c) => c.name !== 'b')[0].name;
      return rankCells(two, key)[0].name !== secondChoiceWithoutB;
    });

    expect(differ).toEqual([]);
  });
});

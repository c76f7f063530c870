import { createHash } from 'node:crypto';
import { partitionOf } from '#commons/partitions';
import { ConnectionIdFactory } from '../../../../local/gateway/connection-id';

/** Rows per partition when `ids` are hashed into `partitionCount` partitions. */
function spread(ids: Iterable<string>, partitionCount: number): number[] {
  const rows = new Array<number>(partitionCount).fill(0);
  for (const id of ids) rows[partitionOf(id, partitionCount)]++;
  return rows;
}

function* gatewayIds(count: number): Generator<string> {
  // Four gateway workers mint ids, as the local stack's do: sequential counters, random middles.
  const factories = [0, 1, 2, 3].map((worker) => new ConnectionIdFactory(worker));
  for (let i = 0; i < count; i++) yield factories[i % factories.length].next();
}

describe('partitionOf: a connection id hashed to its partition', () => {
  it('keeps the fullest of 2,500 partitions within 1.25 × the mean at 400 connections per partition', () => {
    // prepare: 1,000,000 ids shaped like API Gateway's
    const partitionCount = 2_500;
    const connections = 400 * partitionCount;

    // act
    const rows = spread(gatewayIds(connections), partitionCount);

    // assess
    const mean = connections / partitionCount;
    expect(Math.max(...rows) / mean).toBeLessThanOrEqual(1.25);
    expect(Math.min(...rows)).toBeGreaterThan(0);
    expect(rows.reduce((sum, n) => sum + n, 0)).toBe(connections);
  });

  it('is the documented function: the first 32 bits of SHA-256 of the id, mod the partition count', () => {
    for (const id of ['L0SM9cOFvHcCIhw=', 'abc=', 'Ünïcode-id']) {
      const expected = createHash('sha256').update(Buffer.from(id, 'utf8')).digest().readUInt32BE(0) % 2_500;
      expect(partitionOf(id, 2_500)).toBe(expected);
    }
    // Pinned values: another implementation (or language) must agree with these.
    expect(partitionOf('L0SM9cOFvHcCIhw=', 2_500)).toBe(PINNED['L0SM9cOFvHcCIhw=']);
    expect(partitionOf('abc=', 10_000)).toBe(PINNED['abc=']);
  });

  it('is stable and stays within [0, partitionCount)', () => {
    for (const partitionCount of [1, 2, 7, 2_500, 10_000]) {
      for (const id of gatewayIds(200)) {
        const partition = partitionOf(id, partitionCount);
        expect(partition).toBe(partitionOf(id, partitionCount));
        expect(Number.isInteger(partition) && partition >= 0 && partition < partitionCount).toBe(true);
      }
    }
  });

  it('a weak hash of the same ids would not meet the bar (the test can tell the difference)', () => {
    // The last character code mod P: most of the ids' entropy never reaches the partition.
    const weak = new Array<number>(2_500).fill(0);
    for (const id of gatewayIds(100_000)) weak[id.charCodeAt(id.length - 2) % 2_500]++;
    expect(Math.max(...weak) / 40).toBeGreaterThan(1.25);
  });
});

const PINNED: Record<string, number> = {
  'L0SM9cOFvHcCIhw=': 1_153,
  'abc=': 5_016,
};

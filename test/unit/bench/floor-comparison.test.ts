import { floorComparison, floorMedians, timesTheFloor, type FloorResult } from '../../../bench/floor-comparison';
import { BenchInputError, parseCount } from '../../../bench/floor';

const run = (lastDeliveryMs: number, connectMs: number, serverBytesPerSocket: number): FloorResult => ({
  clients: 1_000,
  serverProcesses: 1,
  lastDeliveryMs,
  connectMs,
  connectsPerSecond: Math.round(1_000_000 / connectMs),
  serverBytesPerSocket,
});

describe('the floor beside the demo', () => {
  it('keeps the median of each figure over the runs, so one slow run moves none of them', () => {
    const runs = [run(25, 900, 5_600), run(310, 2_400, 5_100), run(30, 1_000, 9_000)];

    const medians = floorMedians(runs);

    expect(medians).toEqual({
      runs: 3,
      lastDeliveryMs: 30,
      connectMs: 1_000,
      connectsPerSecond: 1_000,
      serverBytesPerSocket: 5_600,
    });
  });

  it('says how many times the floor a figure is: whole numbers from 10 ×, one decimal below', () => {
    expect(timesTheFloor(13_598, 25)).toBe('544 ×');
    expect(timesTheFloor(26_800, 3)).toBe('8,933 ×');
    expect(timesTheFloor(450, 30)).toBe('15 ×');
    expect(timesTheFloor(6_989, 900)).toBe('7.8 ×');
  });

  it('gives no ratio, and says why, when the floor measured nothing to divide by', () => {
    expect(timesTheFloor(13_598, 0)).toBe('no ratio (the floor measured 0)');
    expect(timesTheFloor(80_000, -120)).toBe('no ratio (the floor measured -120)');
  });

  it('prints last delivery, connecting and memory per socket each as demo / floor, connects per second beside it', () => {
    const floor = floorMedians([run(25, 900, 5_632)]);

    const line = floorComparison(
      1_000,
      { lastDeliveryMs: 13_598, connectMs: 6_989, gatewayBytesPerSocket: 81_920 },
      floor,
    );

    expect(line).toBe(
      "last delivery 13,598 ms / 25 ms = 544 ×, connecting 6,989 ms / 900 ms = 7.8 × (143/s against 1,111/s), memory per socket (gateway RSS with its baseline / floor's growth) 80.0 KB / 5.5 KB = 15 ×",
    );
  });

  it("says the demo's memory was not recorded for results kept before it was", () => {
    const line = floorComparison(
      1_000,
      { lastDeliveryMs: 13_598, connectMs: 6_989 },
      floorMedians([run(25, 900, 5_632)]),
    );

    expect(line).toContain("memory per socket: the demo's not recorded, the floor's 5.5 KB");
  });
});

describe("the benchmarks' count arguments", () => {
  it.each(['abc', '0', '1.5', '-3', '100001', ''])('refuses %p, saying what is allowed', (text) => {
    expect(() => parseCount('clients', text, 1, 100_000)).toThrow(
      new BenchInputError(`clients must be a whole number from 1 to 100,000, got "${text}"`),
    );
  });

  it('reads a whole number in range', () => {
    expect(parseCount('runs', '3', 1, 20)).toBe(3);
  });
});

import { BenchInputError, measureFloor } from '../../../bench/floor';

/** The floor: a plain ws server and real loopback clients in client processes, as bench/demo.ts runs it beside the demo. */
describe('the floor (a plain ws broadcast to real loopback clients)', () => {
  it('reaches every client exactly once and times it on the clients’ clock', async () => {
    const result = await measureFloor(300);

    expect(result).toMatchObject({ clients: 300, serverProcesses: 1 });
    expect(result.lastDeliveryMs).toBeGreaterThanOrEqual(0);
    expect(result.connectMs).toBeGreaterThan(0);
    expect(result.connectsPerSecond).toBe(Math.round(300_000 / result.connectMs));
    expect(Number.isFinite(result.serverBytesPerSocket)).toBe(true);
  });

  it('spreads the sockets past one process’s share over server processes on the same port, and the broadcast reaches all of them', async () => {
    const result = await measureFloor(300, { socketsPerServer: 100 });

    expect(result).toMatchObject({ clients: 300, serverProcesses: 3 });
  });

  it.each([0, 1.5, 100_001])('refuses %p clients, saying what is allowed', async (clients) => {
    await expect(measureFloor(clients)).rejects.toThrow(
      new BenchInputError(`the floor's clients must be a whole number from 1 to 100,000, got ${clients}`),
    );
  });
});

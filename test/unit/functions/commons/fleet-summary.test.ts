/** The fleet summary: totals over the cells whose counts are known, the cells that did not finish, the ones a replay re-runs. */
import { summarizeFleet } from '#commons/fleet/summary';

test('adds up per cell and in total, and names the cells that did not finish or had failed sockets', () => {
  const counts = (delivered: number, failed: number) => ({
    connections: delivered + failed + 1,
    delivered,
    gone: 1,
    failed,
    durationMs: 5,
  });
  const summary = summarizeFleet(
    'f1',
    [
      { cell: 'a', status: 'SUCCEEDED', counts: counts(10, 0) },
      { cell: 'b', status: 'FAILED', error: 'DeliveryIncomplete', counts: counts(7, 3) },
      { cell: 'c', status: 'UNREACHABLE', error: 'CellUnreachableError', cause: 'ECONNREFUSED' },
    ],
    new Date(1_000),
    new Date(3_500),
  );
  expect(summary).toMatchObject({
    fleetId: 'f1',
    total: { connections: 22, delivered: 17, gone: 2, failed: 3 },
    durationMs: 2_500,
    cellsNotFinished: ['b', 'c'],
    cellsWithFailedSockets: ['b'],
  });
});

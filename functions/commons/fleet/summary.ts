/** The fleet broadcast's summary: each cell's result and the totals over the cells, as the fleet state machine's Summary state returns it. */
import type { CellCounts, CellResult } from './cells';

export interface FleetSummary {
  fleetId: string;
  cells: CellResult[];
  /** Added up over the cells whose counts are known. */
  total: Omit<CellCounts, 'durationMs'>;
  /** From the fleet execution's start to this summary. */
  durationMs: number;
  /** Cells whose broadcast did not succeed (failed, timed out, aborted, throttled or unreachable). */
  cellsNotFinished: string[];
  /** Cells with failed sockets: what a fleet replay re-runs. */
  cellsWithFailedSockets: string[];
}

export function summarizeFleet(fleetId: string, cells: CellResult[], startedAt: Date, now: Date): FleetSummary {
  const total = { connections: 0, delivered: 0, gone: 0, failed: 0 };
  for (const { counts } of cells) {
    if (!counts) continue;
    total.connections += counts.connections;
    total.delivered += counts.delivered;
    total.gone += counts.gone;
    total.failed += counts.failed;
  }
  return {
    fleetId,
    cells,
    total,
    durationMs: Math.max(0, now.getTime() - startedAt.getTime()),
    cellsNotFinished: cells.filter((cell) => cell.status !== 'SUCCEEDED').map((cell) => cell.cell),
    cellsWithFailedSockets: cells.filter((cell) => (cell.counts?.failed ?? 0) > 0).map((cell) => cell.cell),
  };
}

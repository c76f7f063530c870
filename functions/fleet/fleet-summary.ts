/** The fleet state machine's Summary task: adds up the cells' results. */
import type { CellResult } from '#commons/fleet/cells';
import { summarizeFleet } from '#commons/fleet/summary';

export interface FleetSummaryEvent {
  fleetId: string;
  /** $$.Execution.StartTime. */
  startedAt: string;
  cells: CellResult[];
}

export const handler = async (event: FleetSummaryEvent) =>
  summarizeFleet(event.fleetId, event.cells, new Date(event.startedAt), new Date());

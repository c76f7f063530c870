/**
 * What code outside statemachines/fleet.asl.json depends on in it: the file, and the coordinator's
 * Lambda tasks — their handler, the `${...}` placeholder each ARN fills (the coordinator stack and
 * the local fleet), memory and timeout. The coordinator's functions are not in functions/catalog.ts:
 * that catalog builds every cell, and a cell runs none of these.
 */
import path from 'node:path';

export const FLEET_ASL_FILE = path.join(__dirname, 'fleet.asl.json');

/**
 * Seconds between the coordinator's reads of a cell (its WaitForCell; the execution input's
 * pollSeconds). On AWS each read costs three transitions per cell, so it reads less often than a
 * cell reads its own progress; the local stack shortens the Wait anyway.
 */
export const FLEET_POLL_SECONDS = { aws: 5, local: 1 } as const;

export interface CoordinatorFunction {
  /** Entry file under functions/, exporting `handler`. */
  handler: string;
  constructId: string;
  description: string;
  arnPlaceholder: string;
  /** Whether it calls the cells (assumes their access roles). */
  callsCells: boolean;
  memoryMb: number;
  timeoutSeconds: number;
}

export const COORDINATOR_FUNCTIONS = {
  'cell-execution': {
    handler: 'fleet/cell-execution.ts',
    constructId: 'CellExecution',
    description: 'Fleet StartCell / DescribeCell: start or read one cell broadcast, as the cell access role.',
    arnPlaceholder: 'CellExecutionFunctionArn',
    callsCells: true,
    memoryMb: 256,
    timeoutSeconds: 30,
  },
  'fleet-summary': {
    handler: 'fleet/fleet-summary.ts',
    constructId: 'FleetSummary',
    description: 'Fleet Summary: add up the cells, per cell and in total.',
    arnPlaceholder: 'FleetSummaryFunctionArn',
    callsCells: false,
    memoryMb: 256,
    timeoutSeconds: 10,
  },
} as const satisfies Record<string, CoordinatorFunction>;

export type CoordinatorFunctionName = keyof typeof COORDINATOR_FUNCTIONS;

/** The definition substitutions, given each coordinator function's ARN. */
export function fleetArnSubstitutions(arnOf: (name: CoordinatorFunctionName) => string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(COORDINATOR_FUNCTIONS).map(([name, { arnPlaceholder }]) => [
      arnPlaceholder,
      arnOf(name as CoordinatorFunctionName),
    ]),
  );
}

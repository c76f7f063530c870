/** The fleet state machine's StartCell and DescribeCell tasks: start or read one cell's broadcast execution. */
import type { CellTarget } from '#commons/fleet/cells';
import { describeCell, startCell } from '#commons/fleet/cell-executions';

export type CellExecutionEvent =
  | { action: 'start'; cell: CellTarget; name: string; input: string }
  | { action: 'describe'; cell: CellTarget; executionArn: string };

export const handler = async (event: CellExecutionEvent) =>
  event.action === 'start'
    ? startCell(event.cell, event.name, event.input)
    : describeCell(event.cell, event.executionArn);

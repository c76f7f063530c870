/**
 * The coordinator's view of a cell: how to reach its broadcast state machine (Region, role to
 * assume, and on the local stack its Step Functions endpoint), and the shapes the fleet state
 * machine (statemachines/fleet.asl.json) passes between its states.
 */

/** One cell as the fleet execution's input lists it (from the fleet file, client/fleet.ts). */
export interface CellTarget {
  name: string;
  region: string;
  stateMachineArn: string;
  /** The cell's SwarmcastCellAccess role; absent only on the local stack, which has no IAM. */
  roleArn?: string;
  /** Only the local stack: the cell's Step Functions API on loopback. On AWS the Region names the endpoint. */
  stepFunctionsEndpoint?: string;
}

/** What a cell's broadcast came to, as the fleet summary counts it. */
export interface CellCounts {
  connections: number;
  delivered: number;
  gone: number;
  failed: number;
  durationMs: number;
}

/** One iteration's result: the cell's execution ended (with its counts when known), or the cell could not be reached. */
export interface CellResult {
  cell: string;
  /** The cell execution's status, or THROTTLED / UNREACHABLE when the coordinator could not start or read it. */
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'THROTTLED' | 'UNREACHABLE';
  executionArn?: string;
  counts?: CellCounts;
  error?: string;
  cause?: string;
}

/** Cell execution name: the fleet broadcast id plus the cell's name, so a retried start finds the same execution. */
export const cellExecutionName = (fleetId: string, cell: string): string => `${fleetId}-${cell}`;

/** The execution ARN a state machine gives an execution of this name (as Step Functions forms it). */
export const cellExecutionArn = (stateMachineArn: string, name: string): string =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

/** A fleet broadcast id leaves room for "-" and a 40-character cell name within an execution name's 80 characters. */
export const MAX_FLEET_ID_LENGTH = 39;

const LOOPBACK_HTTP = /^http:\/\/(127(\.\d{1,3}){3}|localhost|\[::1\])(:\d+)?\/?$/;

/** Whether a cell's endpoint is one the coordinator may call: the local stack's loopback only, never an address from elsewhere. */
export const isLoopbackEndpoint = (endpoint: string): boolean => LOOPBACK_HTTP.test(endpoint);

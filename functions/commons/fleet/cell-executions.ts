/**
 * Starting and reading one cell's broadcast execution for the coordinator: as the cell's access role
 * (cross-account) in the cell's Region (cross-Region), which Step Functions' own SDK integrations
 * cannot do. Failures come out as the named errors the fleet state machine retries or catches.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { isThrottlingError, isUnavailableError } from '../errors';
import { type CellResult, type CellTarget, cellExecutionArn, isLoopbackEndpoint } from './cells';
import { countsFromIncompleteCause } from '../broadcasts/progress';

/** The cell answered 429 / ThrottlingException past the SDK's retries: the state machine retries, then reports THROTTLED. */
export class CellThrottledError extends Error {
  override name = 'CellThrottledError';
}

/** The cell's Step Functions API did not answer (network, 5xx): retried, then reported UNREACHABLE. */
export class CellUnreachableError extends Error {
  override name = 'CellUnreachableError';
}

/** The cell entry cannot be used as given (an endpoint that is not loopback): never retried. */
export class InvalidCellError extends Error {
  override name = 'InvalidCellError';
}

const clients = new Map<string, SFNClient>();

/** One client per cell, kept for the container's life: the role's credentials are refreshed by the provider. */
function clientFor(cell: CellTarget): SFNClient {
  const key = JSON.stringify([cell.region, cell.roleArn, cell.stepFunctionsEndpoint]);
  let client = clients.get(key);
  if (!client) {
    if (cell.stepFunctionsEndpoint !== undefined && !isLoopbackEndpoint(cell.stepFunctionsEndpoint))
      throw new InvalidCellError(
        `cell ${cell.name}: stepFunctionsEndpoint may only be a loopback http:// URL (the local stack), got ${JSON.stringify(cell.stepFunctionsEndpoint)}`,
      );
    client = new SFNClient({
      region: cell.region,
      endpoint: cell.stepFunctionsEndpoint,
      maxAttempts: 3,
      ...(cell.roleArn && {
        credentials: fromTemporaryCredentials({
          params: { RoleArn: cell.roleArn, RoleSessionName: 'swarmcast-coordinator' },
        }),
      }),
    });
    clients.set(key, client);
  }
  return client;
}

function asCellError(cell: CellTarget, error: unknown): unknown {
  const what = `cell ${cell.name} (${cell.region})`;
  if (isThrottlingError(error)) return new CellThrottledError(`${what} throttled: ${(error as Error).message}`);
  if (isUnavailableError(error))
    return new CellUnreachableError(`${what} did not answer: ${(error as Error).message || (error as Error).name}`);
  return error;
}

/**
 * Starts the cell's broadcast under `name`. A retry after a start that did happen gets
 * ExecutionAlreadyExists (or, while it runs with the same input, the same answer): either way the
 * cell's execution is the one named, and it is never started twice.
 */
export async function startCell(cell: CellTarget, name: string, input: string): Promise<{ executionArn: string }> {
  try {
    const { executionArn } = await clientFor(cell).send(
      new StartExecutionCommand({ stateMachineArn: cell.stateMachineArn, name, input }),
    );
    return { executionArn: executionArn! };
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists) return { executionArn: cellExecutionArn(cell.stateMachineArn, name) };
    throw asCellError(cell, error);
  }
}

/** RUNNING while the cell's broadcast runs; then its CellResult. */
export type CellExecutionState = { cell: string; executionArn: string; status: 'RUNNING' } | CellResult;

/** The cell execution's status; once it ended, its counts (from its summary, or from a DeliveryIncomplete cause). */
export async function describeCell(cell: CellTarget, executionArn: string): Promise<CellExecutionState> {
  let described: DescribeExecutionCommandOutput;
  try {
    described = await clientFor(cell).send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    throw asCellError(cell, error);
  }
  const { status = 'RUNNING', output, error, cause } = described;
  const known = { cell: cell.name, executionArn };
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE') return { ...known, status: 'RUNNING' };
  if (status === 'SUCCEEDED' && output) {
    const { connections, delivered, gone, failed, durationMs } = JSON.parse(output);
    return { ...known, status, counts: { connections, delivered, gone, failed, durationMs } };
  }
  // A cell whose failed sockets were past its tolerance ends FAILED; its cause still counts them.
  const counted = error === 'DeliveryIncomplete' && cause ? countsFromIncompleteCause(cause) : undefined;
  const durationMs =
    described.startDate && described.stopDate ? described.stopDate.getTime() - described.startDate.getTime() : 0;
  return {
    ...known,
    status: status as CellResult['status'],
    ...(counted && { counts: { ...counted, durationMs } }),
    ...(error !== undefined && { error }),
    ...(cause !== undefined && { cause }),
  };
}

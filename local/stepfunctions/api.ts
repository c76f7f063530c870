/**
 * The Step Functions API operations, in the request and response shapes of the AWS JSON
 * protocol (Dates are turned into epoch seconds by the server).
 */
import { MAX_STATE_PAYLOAD_BYTES } from '#commons/constants';
import { randomUUID } from 'node:crypto';
import { executionArn } from './arns';
import {
  executionDoesNotExist,
  invalidArn,
  mapRunDoesNotExist,
  SfnApiError,
  stateMachineDoesNotExist,
  validationError,
} from './api-errors';
import type { Execution } from './execution';
import type { StepFunctionsService } from './service';

type Request = Record<string, any>;
type Operation = (service: StepFunctionsService, request: Request) => unknown;

/** Execution input (as the state payload) may be at most 256 KiB. */
const MAX_INPUT_BYTES = MAX_STATE_PAYLOAD_BYTES;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

function requireArn(request: Request, field: string, kind: string): string {
  const arn = request[field];
  if (typeof arn !== 'string' || !arn.startsWith(`arn:aws:states:`) || !arn.includes(`:${kind}:`))
    throw invalidArn(arn);
  return arn;
}

function findExecution(service: StepFunctionsService, request: Request): Execution {
  const arn = requireArn(request, 'executionArn', 'execution');
  const execution = service.executions.get(arn);
  if (!execution) throw executionDoesNotExist(arn);
  return execution;
}

function findStateMachine(service: StepFunctionsService, arn: string) {
  const machine = service.stateMachines.get(arn);
  if (!machine) throw stateMachineDoesNotExist(arn);
  return machine;
}

/** nextToken is the offset of the next page; maxResults 0 means the default, as on AWS. */
function page<T>(items: T[], request: Request): { items: T[]; nextToken?: string } {
  const size = Math.min(request.maxResults || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const start = request.nextToken ? Number(Buffer.from(String(request.nextToken), 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0)
    throw new SfnApiError('InvalidToken', `Invalid Token: '${request.nextToken}'`);
  const end = start + size;
  return {
    items: items.slice(start, end),
    nextToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined,
  };
}

function redriveStatus(execution: Execution): { redriveStatus: string; redriveStatusReason?: string } {
  const reason = execution.whyNotRedrivable();
  if (execution.mapRunArn) {
    // Children are redriven through their parent's Map Run, never on their own.
    return reason
      ? { redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: reason }
      : { redriveStatus: 'REDRIVABLE_BY_MAP_RUN' };
  }
  return reason ? { redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: reason } : { redriveStatus: 'REDRIVABLE' };
}

function startExecution(service: StepFunctionsService, request: Request) {
  const machine = findStateMachine(service, requireArn(request, 'stateMachineArn', 'stateMachine'));
  const name: string = request.name ?? randomUUID();
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) throw new SfnApiError('InvalidName', `Invalid Name: '${name}'`);
  const input: string = request.input ?? '{}';
  if (Buffer.byteLength(input) > MAX_INPUT_BYTES) {
    throw new SfnApiError(
      'InvalidExecutionInput',
      `Invalid State Machine Execution Input: 'input is larger than ${MAX_INPUT_BYTES} bytes'`,
    );
  }
  try {
    JSON.parse(input);
  } catch (err) {
    throw new SfnApiError(
      'InvalidExecutionInput',
      `Invalid State Machine Execution Input: '${(err as Error).message}'`,
    );
  }
  const arn = executionArn(machine.name, name);
  const existing = service.executions.get(arn);
  if (existing) {
    // Same name and input of a running execution is an idempotent retry; anything else is a conflict.
    if (existing.status === 'RUNNING' && existing.input === input)
      return { executionArn: arn, startDate: existing.startDate };
    throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
  }
  const execution = service.startExecution(machine, arn, input);
  return { executionArn: execution.arn, startDate: execution.startDate };
}

function describeExecution(service: StepFunctionsService, request: Request) {
  const execution = findExecution(service, request);
  return {
    ...executionListItem(execution),
    input: execution.input,
    inputDetails: { included: true },
    output: execution.output,
    outputDetails: execution.output === undefined ? undefined : { included: true },
    error: execution.error,
    cause: execution.cause,
    ...redriveStatus(execution),
  };
}

function listExecutions(service: StepFunctionsService, request: Request) {
  const { stateMachineArn, mapRunArn, statusFilter, redriveFilter } = request;
  if (!stateMachineArn === !mapRunArn)
    throw validationError('Exactly one of stateMachineArn and mapRunArn must be given');
  if (stateMachineArn) findStateMachine(service, requireArn(request, 'stateMachineArn', 'stateMachine'));
  else if (!service.mapRuns.has(mapRunArn)) throw mapRunDoesNotExist(mapRunArn);
  const matching = [...service.executions.values()]
    .filter((execution) =>
      mapRunArn
        ? execution.mapRunArn === mapRunArn
        : !execution.mapRunArn && execution.machine.stateMachineArn === stateMachineArn,
    )
    .filter((execution) => !statusFilter || execution.status === statusFilter)
    .filter((execution) => !redriveFilter || (redriveFilter === 'REDRIVEN') === execution.redriveCount > 0)
    .reverse();
  const { items, nextToken } = page(matching, request);
  return {
    executions: items.map(executionListItem),
    nextToken,
  };
}

/** The fields ListExecutions gives per execution; DescribeExecution gives them too. */
function executionListItem(execution: ReturnType<typeof findExecution>) {
  return {
    executionArn: execution.arn,
    stateMachineArn: execution.machine.stateMachineArn,
    name: execution.name,
    status: execution.status,
    startDate: execution.startDate,
    stopDate: execution.stopDate,
    mapRunArn: execution.mapRunArn,
    redriveCount: execution.redriveCount,
    redriveDate: execution.redriveDate,
  };
}

/** includeExecutionData: false drops the payloads, as on AWS. */
const PAYLOAD_FIELDS = ['input', 'output', 'parameters'];

function getExecutionHistory(service: StepFunctionsService, request: Request) {
  const execution = findExecution(service, request);
  const ordered = request.reverseOrder ? [...execution.history.events].reverse() : execution.history.events;
  const { items, nextToken } = page(ordered, request);
  const events =
    request.includeExecutionData === false
      ? items.map((event) =>
          Object.fromEntries(
            Object.entries(event).map(([key, value]) =>
              key.endsWith('EventDetails') && value && typeof value === 'object'
                ? [key, Object.fromEntries(Object.entries(value).filter(([field]) => !PAYLOAD_FIELDS.includes(field)))]
                : [key, value],
            ),
          ),
        )
      : items;
  return { events, nextToken };
}

/** Answers once the run has unwound, so the history read next already ends with ExecutionAborted. */
async function stopExecution(service: StepFunctionsService, request: Request) {
  const execution = findExecution(service, request);
  execution.stop(request.error, request.cause);
  await execution.whenSettled();
  return { stopDate: execution.stopDate ?? new Date() };
}

function redriveExecution(service: StepFunctionsService, request: Request) {
  const execution = findExecution(service, request);
  const reason = execution.mapRunArn
    ? 'A Map Run child is redriven by redriving its parent execution'
    : execution.whyNotRedrivable();
  if (reason)
    throw new SfnApiError('ExecutionNotRedrivable', `Execution not redrivable: ${reason}: '${execution.arn}'`);
  void execution.redrive();
  return { redriveDate: execution.redriveDate };
}

function listMapRuns(service: StepFunctionsService, request: Request) {
  const execution = findExecution(service, request);
  const { items, nextToken } = page(execution.mapRuns, request);
  return {
    mapRuns: items.map((mapRun) => ({
      executionArn: mapRun.executionArn,
      mapRunArn: mapRun.arn,
      stateMachineArn: mapRun.stateMachineArn,
      startDate: mapRun.startDate,
      stopDate: mapRun.stopDate,
    })),
    nextToken,
  };
}

function describeMapRun(service: StepFunctionsService, request: Request) {
  const arn = requireArn(request, 'mapRunArn', 'mapRun');
  const mapRun = service.mapRuns.get(arn);
  if (!mapRun) throw mapRunDoesNotExist(arn);
  const { maxConcurrency, toleratedFailurePercentage, toleratedFailureCount } = mapRun.settings;
  return {
    mapRunArn: mapRun.arn,
    executionArn: mapRun.executionArn,
    status: mapRun.status,
    startDate: mapRun.startDate,
    stopDate: mapRun.stopDate,
    maxConcurrency,
    toleratedFailurePercentage: toleratedFailurePercentage ?? 0,
    toleratedFailureCount: toleratedFailureCount ?? 0,
    ...mapRun.counts(),
    redriveCount: mapRun.redriveCount,
    redriveDate: mapRun.redriveDate,
  };
}

function describeStateMachine(service: StepFunctionsService, request: Request) {
  const machine = findStateMachine(service, requireArn(request, 'stateMachineArn', 'stateMachine'));
  return {
    stateMachineArn: machine.arn,
    name: machine.name,
    status: 'ACTIVE',
    definition: machine.definitionText,
    roleArn: machine.roleArn,
    type: 'STANDARD',
    creationDate: machine.creationDate,
  };
}

function describeStateMachineForExecution(service: StepFunctionsService, request: Request) {
  const execution = findExecution(service, request);
  const machine = findStateMachine(service, execution.machine.stateMachineArn);
  return {
    stateMachineArn: machine.arn,
    name: machine.name,
    definition: machine.definitionText,
    roleArn: machine.roleArn,
    updateDate: machine.creationDate,
    mapRunArn: execution.mapRunArn,
  };
}

function listStateMachines(service: StepFunctionsService, request: Request) {
  const { items, nextToken } = page([...service.stateMachines.values()], request);
  return {
    stateMachines: items.map((machine) => ({
      stateMachineArn: machine.arn,
      name: machine.name,
      type: 'STANDARD',
      creationDate: machine.creationDate,
    })),
    nextToken,
  };
}

export const operations: Record<string, Operation> = {
  StartExecution: startExecution,
  DescribeExecution: describeExecution,
  ListExecutions: listExecutions,
  GetExecutionHistory: getExecutionHistory,
  StopExecution: stopExecution,
  RedriveExecution: redriveExecution,
  ListMapRuns: listMapRuns,
  DescribeMapRun: describeMapRun,
  DescribeStateMachine: describeStateMachine,
  DescribeStateMachineForExecution: describeStateMachineForExecution,
  ListStateMachines: listStateMachines,
};

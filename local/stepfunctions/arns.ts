/**
 * ARNs of the local Step Functions. Account and Region are fixed: nothing local is
 * reachable across accounts, and fixed values keep test assertions simple.
 */
import { randomUUID } from 'node:crypto';

import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../lib/local-account';

export { LOCAL_ACCOUNT, LOCAL_REGION };

const prefix = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}`;

export const stateMachineArn = (name: string): string => `${prefix}:stateMachine:${name}`;

export const executionArn = (stateMachineName: string, executionName: string): string =>
  `${prefix}:execution:${stateMachineName}:${executionName}`;

/** A Map Run and its child executions share `<stateMachine>/<map label>`, as on AWS. */
export const mapRunArn = (stateMachineName: string, label: string): string =>
  `${prefix}:mapRun:${stateMachineName}/${label}:${randomUUID()}`;

export const childExecutionArn = (stateMachineName: string, label: string): string =>
  `${prefix}:execution:${stateMachineName}/${label}:${randomUUID()}`;

/** The last `:`-separated field: the execution name of an execution ARN. */
export const nameOfArn = (arn: string): string => arn.slice(arn.lastIndexOf(':') + 1);

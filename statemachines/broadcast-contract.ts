/**
 * What code outside statemachines/broadcast.asl.json depends on in it: the file, the placeholder
 * each Lambda task's ARN is substituted for (from functions/catalog.ts; CDK stack and local stack), and the state and result
 * path the CLI reads progress from. test/infra/broadcast-contract.test.ts checks the ASL against it.
 */
import path from 'node:path';
import { catalogEntries, type FunctionName } from '../functions/catalog';

export const BROADCAST_ASL_FILE = path.join(__dirname, 'broadcast.asl.json');

/** The definition substitution (`${...}`) each task's function ARN fills, by function: the catalog's state-machine tasks. */
export const FUNCTION_ARN_PLACEHOLDERS: Readonly<Partial<Record<FunctionName, string>>> = Object.fromEntries(
  catalogEntries().flatMap(([name, { trigger }]) =>
    trigger.kind === 'stateMachineTask' ? [[name, trigger.arnPlaceholder]] : [],
  ),
);

/** The definition substitutions, given each function's ARN. */
export function arnSubstitutions(arnOf: (name: FunctionName) => string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(FUNCTION_ARN_PLACEHOLDERS).map(([name, placeholder]) => [placeholder, arnOf(name as FunctionName)]),
  );
}

/** The task state that reads the broadcast's progress, and where it puts read-progress's result ({ progress, ... }). */
export const READ_PROGRESS_STATE = 'ReadProgress';
export const READ_PROGRESS_RESULT_PATH = '$.status';

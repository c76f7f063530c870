/**
 * Turns an ASL file into what aws-local-stepfunctions can run here: `${...}` substitutions
 * filled (as CDK's definitionSubstitutions do), Distributed Map states swapped for Task
 * states we serve ourselves, Task timeouts made explicit. The ASL file stays the single
 * source of truth: nothing here is specific to one state machine.
 */
import { readFileSync } from 'node:fs';
import { LAMBDA_INVOKE_RESOURCE, LAMBDA_MAX_TIMEOUT_SECONDS } from './lambda-invoke';

export type AslState = { Type: string; [field: string]: any };
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  [field: string]: any;
}

/** Resource of the Task states that stand in for Distributed Map states. */
export const DISTRIBUTED_MAP_RESOURCE = 'arn:aws:states:::local:distributedMap';
/**
 * aws-local-stepfunctions gives every Task 60 s unless told otherwise, where AWS waits
 * (a Map Run may take far longer). A week stays below the 2^31 ms that setTimeout accepts.
 */
const UNBOUNDED_TASK_TIMEOUT_SECONDS = 7 * 24 * 3600;

/** Fields a Map state shares with a Task state: they keep their meaning on the stand-in. */
const FIELDS_KEPT_ON_STAND_IN = [
  'Comment',
  'InputPath',
  'ResultSelector',
  'ResultPath',
  'OutputPath',
  'Retry',
  'Catch',
  'Next',
  'End',
];

export interface PreparedDefinition {
  definition: AslDefinition;
  /** The original Distributed Map states, by state name. */
  distributedMaps: Map<string, AslState>;
  /** Task states and how each is served, by state name (aws-local-stepfunctions overrides Tasks by name). */
  tasks: Map<string, { resource: string }>;
  /** Original type of every state, for history events (a stand-in is still a Map there). */
  stateTypes: Map<string, string>;
  waitStates: string[];
  retryingStates: string[];
}

/** Reads an ASL file (or takes a parsed definition) and fills `${Name}` from the substitutions. */
export function loadDefinition(
  source: string | object,
  substitutions: Record<string, string> = {},
): { text: string; definition: AslDefinition } {
  const raw = typeof source === 'string' ? readFileSync(source, 'utf8') : JSON.stringify(source, null, 2);
  const text = raw.replace(/\$\{([A-Za-z0-9_]+)\}/g, (placeholder, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`No definition substitution for ${placeholder}`);
    return value;
  });
  return { text, definition: JSON.parse(text) as AslDefinition };
}

/**
 * Not structuredClone: under jest its objects come from another realm, and
 * aws-local-stepfunctions then fails to see nested payload templates as plain objects.
 */
const cloneJson = <T>(value: T): T => JSON.parse(JSON.stringify(value));

export const isDistributedMap = (state: AslState): boolean =>
  state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED';

export function prepareForLocalRun(original: AslDefinition): PreparedDefinition {
  const definition = cloneJson(original);
  const prepared: PreparedDefinition = {
    definition,
    distributedMaps: new Map(),
    tasks: new Map(),
    stateTypes: new Map(),
    waitStates: [],
    retryingStates: [],
  };
  prepareStates(definition.States, prepared);
  return prepared;
}

function prepareStates(states: Record<string, AslState>, prepared: PreparedDefinition): void {
  for (const [name, state] of Object.entries(states)) {
    prepared.stateTypes.set(name, state.Type);
    if (state.Retry) prepared.retryingStates.push(name);
    if (state.Type === 'Wait') prepared.waitStates.push(name);

    if (isDistributedMap(state)) {
      prepared.distributedMaps.set(name, cloneJson(state));
      prepared.tasks.set(name, { resource: DISTRIBUTED_MAP_RESOURCE });
      states[name] = standInTask(state);
    } else if (state.Type === 'Task') {
      prepared.tasks.set(name, { resource: state.Resource });
      if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
        // A Lambda task ends when the function times out, at 15 minutes at most.
        const invokesLambda = state.Resource.startsWith(LAMBDA_INVOKE_RESOURCE) || state.Resource.includes(':lambda:');
        state.TimeoutSeconds = invokesLambda ? LAMBDA_MAX_TIMEOUT_SECONDS : UNBOUNDED_TASK_TIMEOUT_SECONDS;
      }
    } else if (state.Type === 'Map') {
      // An inline Map runs inside aws-local-stepfunctions; its inner states are overridden by name too.
      prepareStates((state.ItemProcessor ?? state.Iterator).States, prepared);
    } else if (state.Type === 'Parallel') {
      for (const branch of state.Branches) prepareStates(branch.States, prepared);
    }
  }
}

function standInTask(map: AslState): AslState {
  const task: AslState = {
    Type: 'Task',
    Resource: DISTRIBUTED_MAP_RESOURCE,
    TimeoutSeconds: UNBOUNDED_TASK_TIMEOUT_SECONDS,
  };
  for (const field of FIELDS_KEPT_ON_STAND_IN) if (field in map) task[field] = map[field];
  return task;
}

/**
 * The state of the local Step Functions: registered state machines, executions (top-level
 * and Map Run children) and Map Runs. The API layer reads and drives it.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { childExecutionArn, LOCAL_ACCOUNT, nameOfArn, stateMachineArn } from './arns';
import { type AslState, loadDefinition, prepareForLocalRun, type PreparedDefinition } from './definition';
import { runDistributedMap, type MapRunHost } from './distributed-map';
import { Execution, type ExecutionEnvironment } from './execution';
import type { LambdaRegistry } from './lambda-invoke';
import type { MapRun } from './map-run';

export interface StateMachineRegistration {
  name: string;
  /** Path of the ASL file; or `definition`, an ASL object. */
  definitionFile?: string;
  definition?: object;
  /** `${Name}` → value, as CDK's definitionSubstitutions. */
  substitutions?: Record<string, string>;
  roleArn?: string;
}

export interface RegisteredStateMachine {
  arn: string;
  name: string;
  /** The definition text with substitutions filled: what DescribeStateMachine returns. */
  definitionText: string;
  roleArn: string;
  creationDate: Date;
  prepared: PreparedDefinition;
}

export interface StepFunctionsServiceOptions {
  lambdas: LambdaRegistry;
  waitOverrideMs?: number | Record<string, number>;
  retryOverrideMs?: number;
  historyEventLimit?: number;
  /** Finished top-level executions kept (with their Map Runs and children); older ones are dropped. */
  keepFinishedExecutions?: number;
}

/**
 * AWS keeps a finished execution 90 days; a local stack that ran for a day would hold every
 * history in memory. The last this-many finished broadcasts are kept: enough for `list`,
 * `status` and `replay` of anything recent. One broadcast at the default 2,500 partitions held
 * ~1.4 MB of the main process (bench/long-running.ts: +27 MB over 20), so 100 is ~140 MB.
 */
export const DEFAULT_KEEP_FINISHED_EXECUTIONS = 100;

export class StepFunctionsService implements ExecutionEnvironment, MapRunHost {
  readonly stateMachines = new Map<string, RegisteredStateMachine>();
  /** Every execution by ARN, in start order. */
  readonly executions = new Map<string, Execution>();
  readonly mapRuns = new Map<string, MapRun<Execution>>();
  readonly lambdas: LambdaRegistry;
  readonly waitOverrideMs?: number | Record<string, number>;
  readonly retryOverrideMs?: number;
  readonly historyEventLimit?: number;
  readonly keepFinishedExecutions: number;

  constructor(options: StepFunctionsServiceOptions) {
    this.historyEventLimit = options.historyEventLimit;
    this.keepFinishedExecutions = options.keepFinishedExecutions ?? DEFAULT_KEEP_FINISHED_EXECUTIONS;
    if (!Number.isInteger(this.keepFinishedExecutions) || this.keepFinishedExecutions < 1) {
      throw new RangeError(
        `keepFinishedExecutions must be a whole number from 1, got ${options.keepFinishedExecutions}`,
      );
    }
    this.lambdas = options.lambdas;
    this.waitOverrideMs = options.waitOverrideMs;
    this.retryOverrideMs = options.retryOverrideMs;
  }

  /** Registers (or replaces) a state machine; an invalid ASL throws here, not at the first execution. */
  registerStateMachine(registration: StateMachineRegistration): string {
    const source = registration.definitionFile ?? registration.definition;
    if (!source) throw new Error(`State machine ${registration.name}: give definitionFile or definition`);
    const { text, definition } = loadDefinition(source, registration.substitutions);
    new StateMachine(definition as any, { validationOptions: { checkArn: true, checkPaths: true } });
    const arn = stateMachineArn(registration.name);
    this.stateMachines.set(arn, {
      arn,
      name: registration.name,
      definitionText: text,
      roleArn: registration.roleArn ?? `arn:aws:iam::${LOCAL_ACCOUNT}:role/${registration.name}-role`,
      creationDate: new Date(),
      prepared: prepareForLocalRun(definition),
    });
    return arn;
  }

  startExecution(machine: RegisteredStateMachine, executionArn: string, input: string): Execution {
    const execution = new Execution(
      executionArn,
      nameOfArn(executionArn),
      {
        stateMachineArn: machine.arn,
        stateMachineName: machine.name,
        roleArn: machine.roleArn,
        prepared: machine.prepared,
      },
      input,
      this,
      undefined,
      this.historyEventLimit,
    );
    this.executions.set(executionArn, execution);
    void execution.start().then(() => this.dropOldExecutions());
    return execution;
  }

  /** Forgets the oldest finished top-level executions past keepFinishedExecutions, with their Map Runs and children. */
  dropOldExecutions(): void {
    const finished = [...this.executions.values()].filter(
      (execution) => !execution.mapRunArn && execution.status !== 'RUNNING',
    );
    const dropped = finished.slice(0, Math.max(0, finished.length - this.keepFinishedExecutions));
    if (dropped.length === 0) return;
    const droppedMapRuns = new Set<string>();
    for (const execution of dropped) {
      this.executions.delete(execution.arn);
      for (const mapRun of execution.mapRuns) droppedMapRuns.add(mapRun.arn);
    }
    for (const arn of droppedMapRuns) this.mapRuns.delete(arn);
    for (const [arn, execution] of this.executions)
      if (execution.mapRunArn && droppedMapRuns.has(execution.mapRunArn)) this.executions.delete(arn);
  }

  runDistributedMap(stateName: string, state: AslState, input: unknown, parent: Execution): Promise<unknown> {
    return runDistributedMap(stateName, state, input, parent, this);
  }

  registerMapRun(mapRun: MapRun<Execution>): void {
    this.mapRuns.set(mapRun.arn, mapRun);
  }

  createChildExecution(parent: Execution, mapRun: MapRun<Execution>, input: unknown): Execution {
    const arn = childExecutionArn(parent.machine.stateMachineName, mapRun.label);
    const machine = { ...parent.machine, prepared: mapRun.processor };
    const child = new Execution(
      arn,
      nameOfArn(arn),
      machine,
      JSON.stringify(input),
      this,
      mapRun.arn,
      this.historyEventLimit,
    );
    this.executions.set(arn, child);
    return child;
  }

  /** Aborts what still runs, so pending waits and timers do not outlive the server. */
  async stopAll(): Promise<void> {
    const running = [...this.executions.values()].filter(
      (execution) => execution.status === 'RUNNING' && !execution.mapRunArn,
    );
    for (const execution of running) execution.stop('States.Aborted', 'The local Step Functions stopped');
    await Promise.all(running.map((execution) => execution.whenSettled()));
  }
}

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
}

export class StepFunctionsService implements ExecutionEnvironment, MapRunHost {
  readonly stateMachines = new Map<string, RegisteredStateMachine>();
  /** Every execution by ARN, in start order. */
  readonly executions = new Map<string, Execution>();
  readonly mapRuns = new Map<string, MapRun<Execution>>();
  readonly lambdas: LambdaRegistry;
  readonly waitOverrideMs?: number | Record<string, number>;
  readonly retryOverrideMs?: number;
  readonly historyEventLimit?: number;

  constructor(options: StepFunctionsServiceOptions) {
    this.historyEventLimit = options.historyEventLimit;
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
      { stateMachineArn: machine.arn, stateMachineName: machine.name, roleArn: machine.roleArn, prepared: machine.prepared },
      input,
      this,
      undefined,
      this.historyEventLimit,
    );
    this.executions.set(executionArn, execution);
    void execution.start();
    return execution;
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
    const child = new Execution(arn, nameOfArn(arn), machine, JSON.stringify(input), this, mapRun.arn, this.historyEventLimit);
    this.executions.set(arn, child);
    return child;
  }

  /** Aborts what still runs, so pending waits and timers do not outlive the server. */
  async stopAll(): Promise<void> {
    const running = [...this.executions.values()].filter((execution) => execution.status === 'RUNNING' && !execution.mapRunArn);
    for (const execution of running) execution.stop('States.Aborted', 'The local Step Functions stopped');
    await Promise.all(running.map((execution) => execution.whenSettled()));
  }
}

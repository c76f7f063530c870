/**
 * One execution (a top-level one, or a child of a Map Run): runs its definition on
 * aws-local-stepfunctions, keeps status and history, remembers the state it stopped in
 * so RedriveExecution can resume there.
 */
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { LOCAL_REGION } from './arns';
import { type AslState, DISTRIBUTED_MAP_RESOURCE, type PreparedDefinition } from './definition';
import { ExecutionHistory } from './history';
import { invokeLambda, LAMBDA_INVOKE_RESOURCE, type LambdaRegistry } from './lambda-invoke';
import type { MapRun } from './map-run';
import { drainEventLog, statesRuntimeError } from './task-errors';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** What executions need from the service around them. */
export interface ExecutionEnvironment {
  lambdas: LambdaRegistry;
  /** Fixed pause of Wait states, in ms: one value for all, or per state name. */
  waitOverrideMs?: number | Record<string, number>;
  /** Fixed pause before every retry, in ms (ASL intervals are seconds, too slow for tests). */
  retryOverrideMs?: number;
  runDistributedMap(stateName: string, state: AslState, input: unknown, parent: Execution): Promise<unknown>;
}

/** The machine an execution runs: a registered state machine, or the ItemProcessor of a Map Run. */
export interface MachineToRun {
  stateMachineArn: string;
  stateMachineName: string;
  roleArn: string;
  prepared: PreparedDefinition;
}

type Outcome =
  | { status: 'SUCCEEDED'; output: unknown }
  | { status: 'FAILED' | 'TIMED_OUT'; error: string; cause: string }
  | { status: 'ABORTED' };

export class Execution {
  status: ExecutionStatus = 'RUNNING';
  readonly startDate = new Date();
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  redriveCount = 0;
  redriveDate?: Date;
  readonly history: ExecutionHistory;
  readonly mapRuns: MapRun<Execution>[] = [];
  /** The top-level state the execution stopped in, and its input: where a redrive resumes. */
  private resumeAt?: { stateName: string; input: unknown };
  /** Set while a redrive re-enters its first state, so a Distributed Map there redrives its Map Run. */
  private redrivingState?: string;
  private abortRun?: () => void;
  /** Distributed Map handlers still unwinding: an abort ends the run first, their Map Run events must still come before ExecutionAborted. */
  private readonly mapRunsInFlight = new Set<Promise<unknown>>();
  private settled: Promise<void> = Promise.resolve();
  /** Set when the history reached its limit: the run is stopped and the execution fails. */
  private historyFull = false;

  constructor(
    readonly arn: string,
    readonly name: string,
    readonly machine: MachineToRun,
    /** Execution input as JSON text. */
    readonly input: string,
    private readonly env: ExecutionEnvironment,
    /** Set on the child executions of a Map Run. */
    readonly mapRunArn?: string,
    historyLimit?: number,
  ) {
    this.history = new ExecutionHistory(() => this.failOnFullHistory(), historyLimit);
  }

  /** As Step Functions does at the history limit: the execution fails (a redrive would add to the same full history). */
  private failOnFullHistory(): void {
    if (this.status !== 'RUNNING') return;
    this.historyFull = true;
    for (const mapRun of this.mapRuns)
      if (mapRun.status === 'RUNNING') mapRun.abortRunning('The parent execution reached the history limit');
    this.abortRun?.();
  }

  /** Starts the run; the promise settles when the execution stops. */
  start(): Promise<void> {
    this.history.add('ExecutionStarted', {
      input: this.input,
      inputDetails: { truncated: false },
      roleArn: this.machine.roleArn,
    });
    this.settled = this.run(this.machine.prepared.definition.StartAt, JSON.parse(this.input));
    return this.settled;
  }

  /** Why RedriveExecution must refuse, or undefined when it may proceed. */
  whyNotRedrivable(): string | undefined {
    if (!['FAILED', 'ABORTED', 'TIMED_OUT'].includes(this.status)) return `Execution is ${this.status}`;
    if (this.historyFull) return 'Execution history is full: a redrive continues the same history';
    if (!this.resumeAt) return 'Execution stopped before entering any state';
    return undefined;
  }

  /** Re-runs from the state the execution stopped in; the promise settles when it stops again. */
  redrive(): Promise<void> {
    const reason = this.whyNotRedrivable();
    if (reason) throw new Error(reason);
    const { stateName, input } = this.resumeAt!;
    this.status = 'RUNNING';
    this.redriveCount += 1;
    this.redriveDate = new Date();
    this.stopDate = this.error = this.cause = undefined;
    this.redrivingState = stateName;
    this.history.add('ExecutionRedriven', { redriveCount: this.redriveCount });
    this.settled = this.run(stateName, input);
    return this.settled;
  }

  /** StopExecution: the run and its Map Runs' children are aborted; the history says so once the run unwinds. */
  stop(error?: string, cause?: string): void {
    if (this.status !== 'RUNNING') return;
    this.status = 'ABORTED';
    this.stopDate = new Date();
    this.error = error;
    this.cause = cause;
    for (const mapRun of this.mapRuns)
      if (mapRun.status === 'RUNNING') mapRun.abortRunning('The parent execution was aborted');
    this.abortRun?.();
  }

  whenSettled(): Promise<void> {
    return this.settled;
  }

  /** The Map Run a Distributed Map state redrives: only when a redrive re-enters that very state. */
  takeMapRunToRedrive(stateName: string): MapRun<Execution> | undefined {
    if (this.redrivingState !== stateName) return undefined;
    this.redrivingState = undefined;
    return this.mapRuns.findLast((run) => run.stateName === stateName);
  }

  private async run(startAt: string, input: unknown): Promise<void> {
    const { definition } = this.machine.prepared;
    const machine = new StateMachine({ ...definition, StartAt: startAt } as any, {
      validationOptions: { noValidate: true },
    });
    const run = machine.run(input as any, { overrides: this.overrides(), context: this.contextObject() });
    this.abortRun = run.abort;
    const logged = this.followEventLog(run.eventLogs);
    const outcome = await run.result.then(
      (output): Outcome => ({ status: 'SUCCEEDED', output }),
      (err: unknown): Outcome => {
        if (err instanceof ExecutionAbortedError) return { status: 'ABORTED' };
        if (err instanceof ExecutionTimeoutError)
          return { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution timed out' };
        const failure = err instanceof ExecutionError ? (err.cause as Error) : (err as Error);
        return { status: 'FAILED', error: failure?.name ?? 'Error', cause: failure?.message ?? String(err) };
      },
    );
    await logged;
    await Promise.allSettled(this.mapRunsInFlight);
    this.finish(outcome);
  }

  private finish(outcome: Outcome): void {
    this.redrivingState = undefined;
    if (this.historyFull) {
      outcome = {
        status: 'FAILED',
        error: 'States.Runtime',
        cause: `The execution reached the maximum number of events in its history (${this.history.limit.toLocaleString('en-US')}), as Step Functions stops an execution there`,
      };
      this.resumeAt = undefined;
    }
    if (outcome.status === 'ABORTED' || this.status === 'ABORTED') {
      this.history.add('ExecutionAborted', { error: this.error, cause: this.cause });
      return;
    }
    this.status = outcome.status;
    this.stopDate = new Date();
    if (outcome.status === 'SUCCEEDED') {
      this.output = JSON.stringify(outcome.output ?? null);
      this.resumeAt = undefined;
      this.history.add('ExecutionSucceeded', { output: this.output, outputDetails: { truncated: false } });
    } else {
      this.error = outcome.error;
      this.cause = outcome.cause;
      this.history.add(outcome.status === 'FAILED' ? 'ExecutionFailed' : 'ExecutionTimedOut', {
        error: this.error,
        cause: this.cause,
      });
    }
  }

  private async followEventLog(events: AsyncGenerator<any>): Promise<void> {
    const { prepared } = this.machine;
    for await (const event of events) {
      // Inline Map iterations carry an index; only top-level states are places to resume from.
      if (
        event.type === 'StateEntered' &&
        event.index === undefined &&
        event.state.name in prepared.definition.States
      ) {
        this.resumeAt = { stateName: event.state.name, input: event.state.input };
      }
      this.history.addFromLibrary(event, prepared.stateTypes);
    }
  }

  private contextObject() {
    return {
      Execution: { Id: this.arn, Name: this.name, RoleArn: this.machine.roleArn, RedriveCount: this.redriveCount },
      StateMachine: { Id: this.machine.stateMachineArn, Name: this.machine.stateMachineName },
    };
  }

  private overrides() {
    const { prepared } = this.machine;
    const taskResourceLocalHandlers: Record<string, (input: any) => Promise<any>> = {};
    for (const [stateName, { resource }] of prepared.tasks) {
      taskResourceLocalHandlers[stateName] = (input) => this.runTask(stateName, resource, input);
    }
    const { waitOverrideMs, retryOverrideMs } = this.env;
    const waitTimeOverrides =
      typeof waitOverrideMs === 'number'
        ? Object.fromEntries(prepared.waitStates.map((name) => [name, waitOverrideMs]))
        : waitOverrideMs;
    const retryIntervalOverrides =
      retryOverrideMs === undefined
        ? undefined
        : Object.fromEntries(prepared.retryingStates.map((name) => [name, retryOverrideMs]));
    return { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides };
  }

  /** Serves one Task state: a Distributed Map stand-in, a Lambda invocation, or a refusal. */
  private async runTask(stateName: string, resource: string, input: any): Promise<unknown> {
    await drainEventLog();
    if (resource === DISTRIBUTED_MAP_RESOURCE) {
      const mapRun = this.env.runDistributedMap(
        stateName,
        this.machine.prepared.distributedMaps.get(stateName)!,
        input,
        this,
      );
      this.mapRunsInFlight.add(mapRun);
      return mapRun.finally(() => this.mapRunsInFlight.delete(mapRun));
    }
    if (resource === LAMBDA_INVOKE_RESOURCE) return this.invokeLambdaTask(resource, input);
    if (/^arn:aws:lambda:[^:]*:\d+:function:/.test(resource)) {
      // A Task naming the function as its Resource gets the handler's result itself.
      return (await this.invokeLambdaTask(resource, { FunctionName: resource, Payload: input })).Payload;
    }
    throw statesRuntimeError(`Task resource ${resource} is not served by the local Step Functions`);
  }

  private async invokeLambdaTask(resource: string, parameters: any) {
    const [resourceType, resourceName] = resource.startsWith('arn:aws:states:::')
      ? resource.slice(17).split(':')
      : ['lambda', 'invoke'];
    const task = { resourceType, resource: resourceName };
    this.history.add('TaskScheduled', { ...task, region: LOCAL_REGION, parameters: JSON.stringify(parameters) });
    this.history.add('TaskStarted', task);
    try {
      const result = await invokeLambda(this.env.lambdas, parameters);
      // A handler that outlives an abort no longer belongs to the history.
      if (this.status !== 'RUNNING') return result;
      this.history.add('TaskSucceeded', {
        ...task,
        output: JSON.stringify(result),
        outputDetails: { truncated: false },
      });
      return result;
    } catch (err) {
      const { name, message } = err as Error;
      if (this.status !== 'RUNNING') throw err;
      this.history.add('TaskFailed', { ...task, error: name, cause: message });
      throw err;
    }
  }
}

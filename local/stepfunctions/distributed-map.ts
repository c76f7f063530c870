/**
 * The Distributed Map semantics aws-local-stepfunctions lacks: ItemsPath/ItemSelector,
 * ItemBatcher, one child execution per batch with at most MaxConcurrency running,
 * ToleratedFailurePercentage/Count, the Map Run record, and redrive of only the failed children.
 */
import { ExecutionError } from 'aws-local-stepfunctions';
import type { AslState } from './definition';
import { prepareForLocalRun } from './definition';
import { evaluateTemplate } from './evaluate';
import type { Execution } from './execution';
import { cutBatches } from './item-batches';
import { MapRun, type MapRunChild, type MapRunSettings } from './map-run';
import { StatesError, statesRuntimeError } from './task-errors';

/** How a Map Run gets its child executions registered where the API can see them. */
export interface MapRunHost {
  registerMapRun(mapRun: MapRun<Execution>): void;
  createChildExecution(parent: Execution, mapRun: MapRun<Execution>, input: unknown): Execution;
}

/** AWS runs at most 10,000 children of one Map Run at a time; MaxConcurrency 0 means that. */
const UNBOUNDED_CONCURRENCY = 10_000;

export async function runDistributedMap(
  stateName: string,
  state: AslState,
  input: unknown,
  parent: Execution,
  host: MapRunHost,
): Promise<unknown[]> {
  let mapRun = parent.takeMapRunToRedrive(stateName);
  if (mapRun && (mapRun.status === 'FAILED' || mapRun.status === 'ABORTED')) {
    mapRun.redrive();
    parent.history.add('MapRunRedriven', { mapRunArn: mapRun.arn, redriveCount: mapRun.redriveCount });
  } else {
    mapRun = await startMapRun(stateName, state, input, parent);
    host.registerMapRun(mapRun);
    parent.mapRuns.push(mapRun);
    parent.history.add('MapRunStarted', { mapRunArn: mapRun.arn });
  }

  const failure = await runChildren(mapRun, parent, host);
  if (failure) {
    mapRun.finish(parent.status === 'ABORTED' ? 'ABORTED' : 'FAILED');
    parent.history.add(mapRun.status === 'ABORTED' ? 'MapRunAborted' : 'MapRunFailed', {
      error: failure.name,
      cause: failure.message,
    });
    throw failure;
  }
  mapRun.finish('SUCCEEDED');
  parent.history.add('MapRunSucceeded');
  return mapRun.children.map(resultOf);
}

/** A tolerated failure leaves its error in the results, so the states after the Map can see which batch failed. */
function resultOf(child: MapRunChild<Execution>): unknown {
  const execution = child.execution!;
  return execution.status === 'SUCCEEDED'
    ? JSON.parse(execution.output!)
    : { Error: execution.error, Cause: execution.cause };
}

/** Runs every child not yet succeeded, at most maxConcurrency at once; returns the error that ends the Map Run, if any. */
async function runChildren(mapRun: MapRun<Execution>, parent: Execution, host: MapRunHost): Promise<Error | undefined> {
  const queue = mapRun.children.filter((child) => child.execution?.status !== 'SUCCEEDED');
  let failure: Error | undefined;
  const runNext = async (): Promise<void> => {
    for (let child = queue.shift(); child && !failure; child = queue.shift()) {
      if (parent.status === 'ABORTED') {
        failure = new StatesError('States.Aborted', 'The parent execution was aborted');
        return;
      }
      if (child.execution && child.execution.whyNotRedrivable() === undefined) await child.execution.redrive();
      else {
        child.execution = host.createChildExecution(parent, mapRun, child.input);
        await child.execution.start();
      }
      if (!failure && mapRun.exceedsTolerance()) {
        failure = new StatesError(
          'States.ExceedToleratedFailureThreshold',
          `The specified tolerated failure threshold was exceeded: ${mapRun.failedChildCount()} of ${mapRun.children.length} child executions failed`,
        );
        mapRun.abortRunning('The Map Run exceeded its tolerated failure threshold');
      }
    }
  };
  const workers = Math.min(mapRun.settings.maxConcurrency || UNBOUNDED_CONCURRENCY, queue.length);
  await Promise.all(Array.from({ length: workers }, runNext));
  if (!failure && parent.status === 'ABORTED')
    failure = new StatesError('States.Aborted', 'The parent execution was aborted');
  return failure;
}

async function startMapRun(
  stateName: string,
  state: AslState,
  input: unknown,
  parent: Execution,
): Promise<MapRun<Execution>> {
  if (state.ItemReader)
    throw statesRuntimeError(`${stateName}: ItemReader is not supported by the local Step Functions`);
  const settings = await readSettings(stateName, state, input);
  const items = await selectItems(state, settings.items, input, parent);
  const batcher = state.ItemBatcher;
  const children: MapRunChild<Execution>[] = batcher
    ? cutBatches(items, {
        maxItems: settings.maxItemsPerBatch,
        maxInputBytes: settings.maxInputBytesPerBatch,
        batchInput: batcher.BatchInput === undefined ? undefined : await evaluate(batcher.BatchInput, input),
      }).map((batch, index) => ({ index, itemCount: batch.itemCount, input: batch.input }))
    : items.map((item, index) => ({ index, itemCount: 1, input: item }));

  const { ProcessorConfig: _config, ...processor } = state.ItemProcessor;
  const { machine } = parent;
  return new MapRun(
    parent.arn,
    machine.stateMachineArn,
    machine.stateMachineName,
    stateName,
    state.Label ?? stateName,
    settings,
    children,
    prepareForLocalRun(processor),
  );
}

type Settings = MapRunSettings & { items: unknown[]; maxItemsPerBatch?: number; maxInputBytesPerBatch?: number };

/** Each field is a literal or read from the state input through its `...Path` twin. */
async function readSettings(stateName: string, state: AslState, input: unknown): Promise<Settings> {
  const batcher = state.ItemBatcher ?? {};
  const read = await evaluate(
    {
      'items.$': state.ItemsPath ?? '$',
      ...pathOrValue('maxConcurrency', state.MaxConcurrencyPath, state.MaxConcurrency),
      ...pathOrValue('maxItemsPerBatch', batcher.MaxItemsPerBatchPath, batcher.MaxItemsPerBatch),
      ...pathOrValue('maxInputBytesPerBatch', batcher.MaxInputBytesPerBatchPath, batcher.MaxInputBytesPerBatch),
      ...pathOrValue(
        'toleratedFailurePercentage',
        state.ToleratedFailurePercentagePath,
        state.ToleratedFailurePercentage,
      ),
      ...pathOrValue('toleratedFailureCount', state.ToleratedFailureCountPath, state.ToleratedFailureCount),
    },
    input,
  );
  const { items } = read;
  if (!Array.isArray(items)) throw statesRuntimeError(`${stateName}: ItemsPath must select an array`);
  const integer = (name: string, min: number, max = Infinity): number | undefined => {
    const value = read[name];
    if (value === undefined) return undefined;
    if (!Number.isInteger(value) || value < min || value > max)
      throw statesRuntimeError(
        `${stateName}: ${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`,
      );
    return value;
  };
  const percentage = read.toleratedFailurePercentage;
  if (percentage !== undefined && (typeof percentage !== 'number' || percentage < 0 || percentage > 100)) {
    throw statesRuntimeError(
      `${stateName}: toleratedFailurePercentage must be a number in [0, 100], got ${JSON.stringify(percentage)}`,
    );
  }
  return {
    items,
    maxConcurrency: integer('maxConcurrency', 0) ?? 0,
    maxItemsPerBatch: integer('maxItemsPerBatch', 1),
    maxInputBytesPerBatch: integer('maxInputBytesPerBatch', 1, 262_144),
    toleratedFailurePercentage: percentage,
    toleratedFailureCount: integer('toleratedFailureCount', 0),
  };
}

function pathOrValue(key: string, path: string | undefined, value: unknown): Record<string, unknown> {
  if (path !== undefined) return { [`${key}.$`]: path };
  return value === undefined ? {} : { [key]: value };
}

/** ItemSelector (or the older Parameters) builds each item from `$$.Map.Item` and the state input. */
async function selectItems(state: AslState, items: unknown[], input: unknown, parent: Execution): Promise<unknown[]> {
  const selector = state.ItemSelector ?? state.Parameters;
  if (selector === undefined) return items;
  const execution = {
    Id: parent.arn,
    Name: parent.name,
    Input: JSON.parse(parent.input),
    StartTime: parent.startDate.toISOString(),
  };
  return Promise.all(
    items.map((value, index) =>
      evaluate(selector, input, { Execution: execution, Map: { Item: { Index: index, Value: value } } }),
    ),
  );
}

/** Path errors surface as the States.Runtime error AWS fails the state with, not as a wrapped ExecutionError. */
async function evaluate(template: unknown, input: unknown, context?: Record<string, unknown>): Promise<any> {
  try {
    return await evaluateTemplate(template, input, context);
  } catch (err) {
    if (err instanceof ExecutionError) throw statesRuntimeError((err.cause as Error).message);
    throw err;
  }
}

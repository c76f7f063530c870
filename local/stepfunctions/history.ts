/**
 * The execution history in the event shapes of GetExecutionHistory. Our own events (task,
 * Map Run, execution) are recorded directly; state transitions come from the event log of
 * aws-local-stepfunctions, translated here.
 */
import { AWS_LIMITS } from '../../functions/commons/aws-limits';

type EventLog = { type: string; timestamp: number; [field: string]: any };

/** Events that end an execution: the one that fails it at the cap must still fit. */
const TERMINAL_EVENTS = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

/** `TaskStateEntered` → `stateEnteredEventDetails`, `MapRunFailed` → `mapRunFailedEventDetails`. */
function detailsKey(type: string): string {
  if (type.endsWith('StateEntered')) return 'stateEnteredEventDetails';
  if (type.endsWith('StateExited')) return 'stateExitedEventDetails';
  return `${type[0].toLowerCase()}${type.slice(1)}EventDetails`;
}

const json = (value: unknown): string => JSON.stringify(value ?? null);

/**
 * An execution's history, capped as Step Functions caps it: when it reaches the limit (25,000
 * events) the execution fails, the failure being its last event. `onFull` is told once, when only
 * that last event still fits; later events other than the terminal one are not kept.
 */
export class ExecutionHistory {
  readonly events: HistoryEvent[] = [];
  private full = false;

  constructor(
    private readonly onFull: () => void = () => {},
    readonly limit: number = AWS_LIMITS.stepFunctionsHistoryEvents.value,
  ) {}

  add(type: string, details?: Record<string, unknown>, timestamp = new Date()): HistoryEvent | undefined {
    if (this.events.length >= this.limit - 1 && !TERMINAL_EVENTS.has(type)) {
      if (!this.full) {
        this.full = true;
        this.onFull();
      }
      return undefined;
    }
    const previous = this.events.at(-1);
    const event: HistoryEvent = { id: this.events.length + 1, previousEventId: previous?.id ?? 0, timestamp, type };
    if (details) event[detailsKey(type)] = details;
    this.events.push(event);
    return event;
  }

  /**
   * Records what one aws-local-stepfunctions event means in AWS terms. Retries, catches and
   * task failures have no event of their own there: the Task events we record say it.
   */
  addFromLibrary(event: EventLog, stateTypes: Map<string, string>): void {
    const at = new Date(event.timestamp);
    const typeOf = (name: string, fallback: string) => stateTypes.get(name) ?? fallback;
    switch (event.type) {
      case 'StateEntered':
        this.add(
          `${typeOf(event.state.name, event.state.type)}StateEntered`,
          { name: event.state.name, input: json(event.state.input) },
          at,
        );
        break;
      case 'StateExited': {
        const type = typeOf(event.state.name, event.state.type);
        if (type !== 'Fail')
          this.add(`${type}StateExited`, { name: event.state.name, output: json(event.state.output) }, at);
        break;
      }
      case 'StateFailed':
        // A Distributed Map failing is its own event on AWS; other states fail through their Task events.
        if (typeOf(event.state.name, event.state.type) === 'Map') this.add('MapStateFailed', undefined, at);
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.add(event.type, { name: event.parentState.name, index: event.index }, at);
        break;
    }
  }
}

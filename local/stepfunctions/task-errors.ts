/** Errors a Task state fails with; Retry/Catch match them by `name`, the Cause is the `message`. */
export class StatesError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

export const statesRuntimeError = (cause: string) => new StatesError('States.Runtime', cause);

/** Lets events already dispatched by aws-local-stepfunctions reach the history before ours. */
export const drainEventLog = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

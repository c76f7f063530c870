/**
 * One function of the local Lambda runtime, as Lambda scales it: instances (function-instance.ts)
 * each run one invocation at a time; an invocation that finds every instance busy starts another
 * (a cold start), up to `maxInstances`, and past that waits for the next free instance (where
 * Lambda would throttle at the function's concurrency limit). The first instance starts at once,
 * so a handler that cannot start (a missing binding) fails the stack's start.
 */
import { type FunctionInstance, type LambdaHandler, startFunctionInstance } from './function-instance';

export interface LocalFunction {
  readonly name: string;
  readonly handler: LambdaHandler;
  /** Instances started so far (busy or idle). */
  readonly instances: number;
  stop(): Promise<void>;
}

export interface LocalFunctionOptions {
  name: string;
  modulePath: string;
  /** Exactly the function's environment; the instances inherit nothing else. */
  env: Record<string, string>;
  /** The most instances, hence invocations in flight, this function gets. */
  maxInstances: number;
}

export async function startLocalFunction({
  name,
  modulePath,
  env,
  maxInstances,
}: LocalFunctionOptions): Promise<LocalFunction> {
  if (!Number.isInteger(maxInstances) || maxInstances < 1)
    throw new RangeError(`maxInstances of ${name} must be a positive integer, got ${maxInstances}`);
  const start = () => startFunctionInstance({ name, modulePath, env });
  const all: FunctionInstance[] = [await start()];
  const idle: FunctionInstance[] = [...all];
  const waiting: { resolve: (instance: FunctionInstance) => void; reject: (error: Error) => void }[] = [];
  let starting = 0;
  let stopped = false;

  const release = (instance: FunctionInstance) => {
    if (!instance.running) return void all.splice(all.indexOf(instance), 1);
    const next = waiting.shift();
    if (next) next.resolve(instance);
    else idle.push(instance);
  };
  const scaleOut = () => {
    starting++;
    start().then(
      (instance) => {
        starting--;
        if (stopped) return void instance.stop();
        all.push(instance);
        release(instance);
      },
      (error: unknown) => {
        starting--;
        console.error(`[lambda] ${name}: a further instance failed to start:`, error);
      },
    );
  };
  const acquire = (): Promise<FunctionInstance> => {
    let instance = idle.pop();
    while (instance && !instance.running) {
      all.splice(all.indexOf(instance), 1);
      instance = idle.pop();
    }
    if (instance) return Promise.resolve(instance);
    if (stopped) return Promise.reject(new Error(`function ${name} is stopped`));
    // A crashed last instance is replaced even at the bound, as Lambda starts a fresh environment.
    if (all.length + starting < maxInstances || (all.length === 0 && starting === 0)) scaleOut();
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };

  const handler: LambdaHandler = async (event, context) => {
    const instance = await acquire();
    try {
      return await instance.handler(event, context);
    } finally {
      release(instance);
    }
  };
  return {
    name,
    handler,
    get instances() {
      return all.length;
    },
    stop: async () => {
      stopped = true;
      for (const waiter of waiting.splice(0)) waiter.reject(new Error(`function ${name} is stopped`));
      await Promise.all(all.map((instance) => instance.stop()));
    },
  };
}

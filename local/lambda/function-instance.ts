/**
 * The local Lambda runtime's handle on one function: a child process that loads the handler's
 * bundle (bundle.ts: the file Lambda runs) with exactly the function's environment (nothing
 * inherited from this process), so each stack gets its own module instances and a handler reading
 * a variable its catalog entry does not imply fails to start here as on AWS.
 */
import type { Context } from 'aws-lambda';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkNode } from '../fork-typescript';
import { bundleHandler } from './bundle';
import type { InstanceMessage, InvokeRequest, SerializedError } from './instance-protocol';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LambdaHandler = (event: any, context: Context) => Promise<any>;

const INSTANCE_ENTRY = join(__dirname, 'instance.ts');

export interface FunctionInstance {
  readonly name: string;
  /** Invokes the handler in the instance; the Context's name, request id and remaining time travel with the event. Callers send one invocation at a time (local-function.ts). */
  readonly handler: LambdaHandler;
  /** False once the process has exited (crashed or stopped): it takes no more invocations. */
  readonly running: boolean;
  stop(): Promise<void>;
}

export async function startFunctionInstance({
  name,
  modulePath,
  env,
}: {
  name: string;
  modulePath: string;
  env: Record<string, string>;
}): Promise<FunctionInstance> {
  const entryFile = modulePath.startsWith('file:') ? fileURLToPath(modulePath) : modulePath;
  const [runner, handlerBundle] = await Promise.all([bundleHandler(INSTANCE_ENTRY), bundleHandler(entryFile)]);
  // Source maps, as the deployed functions run (RUNTIME_ENVIRONMENT's NODE_OPTIONS): stack traces name the TypeScript lines.
  const child = forkNode(runner, [handlerBundle], { env, nodeFlags: ['--enable-source-maps'] });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  /** Set when a send fails: the process is going, whether or not its exit has been seen yet. */
  let lost = false;
  // A send to an instance that just died reports through the send's callback; without a
  // listener the child's 'error' event would end this whole process.
  child.on('error', () => {});
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      const error = new Error(`function ${name} exited (code ${code}, signal ${signal})`);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
      resolve();
    });
  });
  const started = new Promise<void>((resolve, reject) => {
    child.on('message', (message: InstanceMessage) => {
      if (message.type === 'ready') resolve();
      else if (message.type === 'init-error')
        reject(new Error(`function ${name} failed to start: ${message.error.message}`));
      else {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.result);
        else waiter?.reject(revive(message.error));
      }
    });
    void exited.then(() => reject(new Error(`function ${name} exited before it started`)));
  });
  try {
    await started;
  } catch (error) {
    child.kill();
    await exited;
    throw error;
  }

  const handler: LambdaHandler = (event, context) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const request: InvokeRequest = {
        id,
        functionName: context.functionName,
        awsRequestId: context.awsRequestId,
        remainingMs: context.getRemainingTimeInMillis(),
        event,
      };
      // An instance that died since it was picked fails this invocation, as a crashed Lambda
      // environment does; its trigger retries (SQS redelivers, Step Functions' Retry).
      child.send(request, (error) => {
        if (!error) return;
        lost = true;
        if (!pending.delete(id)) return;
        reject(new Error(`function ${name} is not running: ${error.message}`));
      });
    });
  return {
    name,
    handler,
    get running() {
      return !lost && child.exitCode === null && child.signalCode === null;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await exited;
    },
  };
}

/** The handler's error as Lambda reports it: its name (the errorType Step Functions matches) and message. */
function revive({ name, message }: SerializedError): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

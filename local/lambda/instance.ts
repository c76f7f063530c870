/**
 * One local function instance (bundled and forked by function-instance.ts with exactly the
 * function's environment): loads the handler's bundle as a Lambda cold start does, reports
 * whether it started, then runs the invocations the parent sends over IPC.
 */
import type { Context } from 'aws-lambda';
import { pathToFileURL } from 'node:url';
import { lambdaContext } from './context';
import type { InstanceMessage, InvokeRequest } from './instance-protocol';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** To the parent; once it is gone (it stopped while this instance was starting) there is no one to answer: exit. */
const send = (message: InstanceMessage) => {
  if (!process.connected) process.exit(0);
  process.send?.(message, undefined, {}, (error) => {
    if (error) process.exit(0);
  });
};

async function main(): Promise<void> {
  const modulePath = process.argv[2];
  let handler: Handler;
  try {
    const loaded = (await import(pathToFileURL(modulePath).href)) as {
      handler?: Handler;
      default?: { handler?: Handler };
    };
    // A CommonJS module's exports arrive as `default` when imported.
    const exported = loaded.handler ?? loaded.default?.handler;
    if (typeof exported !== 'function') throw new Error(`${modulePath} does not export a function named handler`);
    handler = exported;
  } catch (error) {
    send({ type: 'init-error', error: describe(error) });
    process.disconnect?.();
    return;
  }
  process.on('message', (request: InvokeRequest) => {
    const context = lambdaContext({
      functionName: request.functionName,
      timeoutSeconds: request.remainingMs / 1000,
      awsRequestId: request.awsRequestId,
    });
    handler(request.event, context).then(
      (result) => send({ type: 'result', id: request.id, ok: true, result: result ?? null }),
      (error: unknown) => send({ type: 'result', id: request.id, ok: false, error: describe(error) }),
    );
  });
  // The parent (a stack or a gateway worker) is gone: so is the function.
  process.once('disconnect', () => process.exit(0));
  // Ctrl-C reaches the whole process group; the parent stops its instances once their work is done
  // (the $disconnects of the sockets it closes), so an instance must not die of the same Ctrl-C.
  process.on('SIGINT', () => {});
  send({ type: 'ready' });
}

function describe(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: 'Error', message: String(error) };
}

void main();

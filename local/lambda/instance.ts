/**
 * One local function instance (forked by function-instance.ts with tsx loaded and exactly the
 * function's environment): loads the handler module as a Lambda cold start does, reports
 * whether it started, then runs the invocations the parent sends over IPC.
 */
import type { Context } from 'aws-lambda';
import { lambdaContext } from './context';
import type { InstanceMessage, InvokeRequest } from './instance-protocol';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const send = (message: InstanceMessage) => process.send?.(message);

async function main(): Promise<void> {
  const modulePath = process.argv[2];
  let handler: Handler;
  try {
    handler = ((await import(modulePath)) as { handler: Handler }).handler;
    if (typeof handler !== 'function') throw new Error(`${modulePath} exports no handler function`);
  } catch (error) {
    send({ type: 'init-error', error: describe(error) });
    process.disconnect?.();
    return;
  }
  process.on('message', (request: InvokeRequest) => {
    const context = lambdaContext({ functionName: request.functionName, timeoutSeconds: request.remainingMs / 1000, awsRequestId: request.awsRequestId });
    handler(request.event, context).then(
      (result) => send({ type: 'result', id: request.id, ok: true, result: result ?? null }),
      (error: unknown) => send({ type: 'result', id: request.id, ok: false, error: describe(error) }),
    );
  });
  send({ type: 'ready' });
}

function describe(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}

void main();

/**
 * The route functions of one gateway worker, run by the local Lambda runtime (local/lambda/): each
 * route's handler in instances of its own with exactly that route's environment, so a $connect
 * handler reading a variable the stack does not bind for it fails here as on AWS.
 */
import { basename, extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lambdaContext } from '../lambda/context';
import { type LocalFunction, startLocalFunction } from '../lambda/local-function';
import type { RouteEnvironments, RouteHandlerModules } from './options';

/** How an invocation ended, as API Gateway sees it. */
export type InvocationOutcome =
  | { kind: 'returned'; value: unknown }
  | { kind: 'failed'; error: unknown }
  | { kind: 'timedOut' };

/** One route's Lambda function, called as API Gateway calls it. */
export class RouteHandler {
  constructor(
    private readonly lambda: LocalFunction,
    private readonly timeoutMs: number,
  ) {}

  get functionName(): string {
    return this.lambda.name;
  }

  /** Runs the handler; past the integration timeout API Gateway stops waiting (the handler itself runs on). */
  async invoke(event: unknown): Promise<InvocationOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<InvocationOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timedOut' }), this.timeoutMs);
    });
    const context = lambdaContext({ functionName: this.functionName, timeoutSeconds: this.timeoutMs / 1000 });
    const run = this.lambda.handler(event, context).then(
      (value): InvocationOutcome => ({ kind: 'returned', value }),
      (error: unknown): InvocationOutcome => ({ kind: 'failed', error }),
    );
    try {
      return await Promise.race([run, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): Promise<void> {
    return this.lambda.stop();
  }
}

export const ROUTES = ['connect', 'disconnect', 'default', 'subscriptions', 'authorizer'] as const;
export type Route = (typeof ROUTES)[number];
export type RouteHandlers = Partial<Record<Route, RouteHandler>>;

/**
 * Starts each route's function (tsx loads .ts modules); a module that does not start, or exports
 * no `handler`, fails the worker's start with the function's own error.
 */
export async function startRouteHandlers(
  modules: RouteHandlerModules,
  environments: RouteEnvironments,
  timeoutMs: number,
  maxInstances: number,
): Promise<RouteHandlers> {
  const routes = ROUTES.filter((route) => modules[route]);
  const started = await Promise.allSettled(
    routes.map((route) => {
      const path = modules[route]!;
      // Same naming as the local Lambda ARNs: swarmcast-<entry file name>.
      const name = `swarmcast-${basename(path, extname(path))}`;
      return startLocalFunction({
        name,
        modulePath: pathToFileURL(path).href,
        env: environments[route] ?? {},
        maxInstances,
      });
    }),
  );
  const handlers: RouteHandlers = {};
  started.forEach((result, index) => {
    if (result.status === 'fulfilled') handlers[routes[index]] = new RouteHandler(result.value, timeoutMs);
  });
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stopRouteHandlers(handlers);
    throw failed.reason;
  }
  return handlers;
}

export async function stopRouteHandlers(handlers: RouteHandlers): Promise<void> {
  await Promise.all(Object.values(handlers).map((handler) => handler.stop()));
}

/** The statusCode of a Lambda proxy result; a result without one counts as success. */
export function statusCodeOf(value: unknown): number {
  const code = (value as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof code === 'number' ? code : 200;
}

/** The body a route response sends back to the client, if the handler returned one. */
export function responseBodyOf(value: unknown): string | undefined {
  const body = (value as { body?: unknown } | null | undefined)?.body;
  return typeof body === 'string' && body.length > 0 ? body : undefined;
}

import { basename, extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lambdaContext } from './lambda-events';
import type { RouteHandlerModules } from './options';

type Handler = (event: unknown, context: unknown) => unknown;

/** How an invocation ended, as API Gateway sees it. */
export type InvocationOutcome =
  | { kind: 'returned'; value: unknown }
  | { kind: 'failed'; error: unknown }
  | { kind: 'timedOut' };

/** One route's Lambda function, loaded in this process and called like Lambda would. */
export class RouteHandler {
  constructor(
    readonly functionName: string,
    private readonly handler: Handler,
    private readonly timeoutMs: number,
  ) {}

  /** Runs the handler; past the integration timeout API Gateway stops waiting (the handler itself runs on). */
  async invoke(event: unknown): Promise<InvocationOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<InvocationOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timedOut' }), this.timeoutMs);
    });
    const run = (async (): Promise<InvocationOutcome> => {
      try {
        return { kind: 'returned', value: await this.handler(event, lambdaContext(this.functionName, this.timeoutMs)) };
      } catch (error) {
        return { kind: 'failed', error };
      }
    })();
    try {
      return await Promise.race([run, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface RouteHandlers {
  connect?: RouteHandler;
  disconnect?: RouteHandler;
  default?: RouteHandler;
  authorizer?: RouteHandler;
}

/** Imports each module (tsx is loaded in the worker, so .ts works) and checks it exports `handler`. */
export async function loadRouteHandlers(modules: RouteHandlerModules, timeoutMs: number): Promise<RouteHandlers> {
  const handlers: RouteHandlers = {};
  for (const route of ['connect', 'disconnect', 'default', 'authorizer'] as const) {
    const path = modules[route];
    if (!path) continue;
    const loaded = (await import(pathToFileURL(path).href)) as { handler?: Handler; default?: { handler?: Handler } };
    const handler = loaded.handler ?? loaded.default?.handler;
    if (typeof handler !== 'function') throw new Error(`${path} does not export a function named handler`);
    // Same naming as the local Lambda ARNs: swarmcast-<entry file name>.
    handlers[route] = new RouteHandler(`swarmcast-${basename(path, extname(path))}`, handler, timeoutMs);
  }
  return handlers;
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

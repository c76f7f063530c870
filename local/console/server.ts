/**
 * The local console: serves the page in page/ and answers its calls by reading and starting
 * executions through the Step Functions API with the real SDK client and the library the CLI
 * is built on (lib/: status, list, send, replay; for a local fleet, lib/fleet.ts). The browser never talks to Step Functions, so it holds no
 * credentials, and the page shows exactly what `swarmcast status` / `list` would.
 */
import { readFile } from 'node:fs/promises';
import { BodyTooLargeError, readBoundedBody } from '../bounded-body';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { listRecentExecutions, readBroadcastStatus } from '../../lib/broadcast-status';
import { checkBroadcastId } from '../../lib/broadcast-ids';
import { explainError, SwarmcastError } from '../../lib/errors';
import { startBroadcast, startReplay } from '../../lib/executions';
import { outcomeOf } from '../../lib/format';
import { readBroadcastInput } from '../../lib/payload';
import { resolveTarget, type Target } from '../../lib/target';
import {
  type FleetTarget,
  fleetOutcome,
  listFleetBroadcasts,
  readFleetStatus,
  replayFleetBroadcast,
  startFleetBroadcast,
} from '../../lib/fleet';

export interface ConsoleOptions {
  stepFunctionsEndpoint: string;
  stateMachineArn: string;
  /** 0 or absent: any free port. */
  port?: number;
}

/** The console of a local fleet (`swarmcast local --cells K`): its cells and its fleet broadcasts. */
export interface FleetConsoleOptions {
  fleet: FleetTarget;
  port?: number;
}

export interface ConsoleServer {
  url: string;
  stop(): Promise<void>;
}

const PAGE_DIR = path.join(__dirname, 'page');
const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
  '/common.js': { file: 'common.js', type: 'text/javascript; charset=utf-8' },
};
/** A fleet's console: its own page, the same stylesheet. */
const FLEET_PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'fleet.html', type: 'text/html; charset=utf-8' },
  '/fleet.js': { file: 'fleet.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': PAGE_FILES['/console.css'],
  '/common.js': PAGE_FILES['/common.js'],
};
/** The page runs only its own files: no inline script, nothing from elsewhere. */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** A message is at most 128 KB; JSON-escaped it can grow, so leave room. */
const MAX_BODY_BYTES = 1024 * 1024;
const RECENT_EXECUTIONS = 25;

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const target = await resolveTarget({
    endpoint: options.stepFunctionsEndpoint,
    stateMachineArn: options.stateMachineArn,
  });
  return serve(
    (request, response) => handle(target, request, response),
    options.port,
    () => target.sfn.destroy(),
  );
}

/** The fleet's console; the caller keeps and closes the fleet target. */
export function startFleetConsole(options: FleetConsoleOptions): Promise<ConsoleServer> {
  return serve(
    (request, response) => handleFleet(options.fleet, request, response),
    options.port,
    () => {},
  );
}

async function serve(
  handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
  listenPort: number | undefined,
  close: () => void,
): Promise<ConsoleServer> {
  const server = createServer((request, response) => {
    handler(request, response).catch((thrown: unknown) => {
      const error = explainError(thrown);
      const statusCode = error instanceof HttpError ? error.statusCode : error instanceof SwarmcastError ? 400 : 500;
      sendJson(response, statusCode, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      close();
    },
  };
}

/**
 * What every console answers before its own calls: only pages from this console may drive it
 * (another site's page, or a DNS name rebound to loopback, must not start broadcasts; a JSON body
 * also forces a CORS preflight we never allow), and its page files. Returns the route, or
 * undefined once answered.
 */
async function answerPage(
  pages: Record<string, { file: string; type: string }>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<{ route: string; url: URL } | undefined> {
  const port = (request.socket.address() as AddressInfo).port;
  if (request.headers.host !== `127.0.0.1:${port}` && request.headers.host !== `localhost:${port}`)
    throw new HttpError(403, `open the console at http://127.0.0.1:${port}/`);
  const url = new URL(request.url ?? '/', 'http://console');
  const route = `${request.method} ${url.pathname}`;

  if (route === 'GET /favicon.ico') {
    response.writeHead(204).end();
    return undefined;
  }
  const page = request.method === 'GET' ? pages[url.pathname] : undefined;
  if (page) {
    const body = await readFile(path.join(PAGE_DIR, page.file));
    response.writeHead(200, {
      'content-type': page.type,
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    response.end(body);
    return undefined;
  }
  return { route, url };
}

async function handle(target: Target, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const asked = await answerPage(PAGE_FILES, request, response);
  if (!asked) return;
  const { route, url } = asked;
  if (route === 'GET /api/executions') {
    sendJson(response, 200, {
      stateMachineArn: target.stateMachineArn,
      broadcasts: await listRecentExecutions(target, RECENT_EXECUTIONS),
    });
    return;
  }
  const execution = /^\/api\/executions\/([^/]+)(\/replay)?$/.exec(url.pathname);
  if (execution) {
    const id = checkBroadcastId(decodePathSegment(execution[1]));
    if (request.method === 'GET' && !execution[2]) {
      const status = await readBroadcastStatus(target, id);
      sendJson(response, 200, { ...status, outcome: outcomeOf(status) });
      return;
    }
    if (request.method === 'POST' && execution[2]) {
      await readJsonBody(request);
      sendJson(response, 200, await startReplay(target, id));
      return;
    }
  }
  if (route === 'POST /api/broadcasts') {
    const body = await readJsonBody(request);
    const { message, channel } = (body as { message?: unknown; channel?: unknown } | null) ?? {};
    if (typeof message !== 'string') throw new HttpError(400, 'give the message as text: {"message": "..."}');
    if (channel !== undefined && typeof channel !== 'string')
      throw new HttpError(400, 'give the channel as text: {"message": "...", "channel": "name"}');
    sendJson(response, 201, await startBroadcast(target, await readBroadcastInput({ message, channel })));
    return;
  }
  throw new HttpError(404, `no such page or call: ${route}`);
}

/** The fleet console's calls: the cells and recent fleet broadcasts, one fleet broadcast per cell, send, replay. */
async function handleFleet(fleet: FleetTarget, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const asked = await answerPage(FLEET_PAGE_FILES, request, response);
  if (!asked) return;
  const { route, url } = asked;
  if (route === 'GET /api/fleet') {
    sendJson(response, 200, {
      cells: fleet.fleet.cells.map(({ name, url: webSocketUrl }) => ({ name, url: webSocketUrl })),
      broadcasts: await listFleetBroadcasts(fleet, RECENT_EXECUTIONS),
    });
    return;
  }
  const broadcast = /^\/api\/fleet\/broadcasts\/([^/]+)(\/replay)?$/.exec(url.pathname);
  if (broadcast) {
    const id = checkBroadcastId(decodePathSegment(broadcast[1]));
    if (request.method === 'GET' && !broadcast[2]) {
      const status = await readFleetStatus(fleet, id);
      sendJson(response, 200, { ...status, outcome: fleetOutcome(status) });
      return;
    }
    if (request.method === 'POST' && broadcast[2]) {
      await readJsonBody(request);
      sendJson(response, 200, await replayFleetBroadcast(fleet, id));
      return;
    }
  }
  if (route === 'POST /api/fleet/broadcasts') {
    const body = await readJsonBody(request);
    const message = (body as { message?: unknown } | null)?.message;
    if (typeof message !== 'string') throw new HttpError(400, 'give the message as text: {"message": "..."}');
    sendJson(response, 201, await startFleetBroadcast(fleet, (await readBroadcastInput({ message })).message));
    return;
  }
  throw new HttpError(404, `no such page or call: ${route}`);
}

/** A %-escaped path segment; a malformed escape is the caller's mistake (400), not the console's. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(
      400,
      `the id in the path is not a valid %-escaped text: ${JSON.stringify(segment)}; escape it with encodeURIComponent`,
    );
  }
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  if (!/^application\/json\b/.test(request.headers['content-type'] ?? ''))
    throw new HttpError(415, 'send the request body as application/json');
  const body = await readBoundedBody(request, MAX_BODY_BYTES).catch((error: unknown) => {
    throw error instanceof BodyTooLargeError
      ? new HttpError(413, `the request body is over ${MAX_BODY_BYTES} bytes`)
      : error;
  });
  try {
    return JSON.parse(body.toString('utf8') || 'null');
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
}

function sendJson(response: ServerResponse, statusCode: number, body: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  response.end(JSON.stringify(body));
}

/** The local @connections API over HTTP, as each gateway worker serves it. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { SigV4Verifier } from '../sigv4-verifier';
import { AWS_LIMITS } from './options';
import type { ManagementOp } from './peer-forwarding';
import { type ManagementResult, RESULTS } from './management-results';

/** Runs one @connections call on whichever worker owns the connection. */
export type RouteManagementCall = (
  op: ManagementOp,
  connectionId: string,
  data: Buffer,
) => ManagementResult | Promise<ManagementResult>;

const OP_BY_METHOD: Record<string, ManagementOp | undefined> = { POST: 'post', GET: 'describe', DELETE: 'delete' };

/**
 * The HTTP face of the @connections API: POST/GET/DELETE /{stage}/@connections/{id}.
 * Requests are answered as API Gateway does, so the unchanged SDK client works against it.
 * The SigV4 signature is checked against the local credentials (403 as API Gateway's).
 * This is the hot path of a broadcast: no per-request URL object, no awaits when the
 * socket is local.
 */
export function managementRequestListener(stage: string, route: RouteManagementCall, verifier: SigV4Verifier) {
  const prefix = `/${stage}/@connections/`;
  return (request: IncomingMessage, response: ServerResponse): void => {
    const url = request.url ?? '';
    const op = OP_BY_METHOD[request.method ?? ''];
    const connectionId = op && url.startsWith(prefix) ? connectionIdOf(url, prefix.length) : undefined;
    if (!op || connectionId === undefined) {
      request.resume();
      return send(response, RESULTS.forbidden);
    }
    readBody(request, (data) => {
      if (data === undefined) return send(response, RESULTS.payloadTooLarge);
      const rejection = verifier.verify(request, data);
      if (rejection) return send(response, RESULTS.unauthenticated(rejection.code, rejection.message));
      const result = route(op, connectionId, data);
      // A forward to a worker that died must still answer: 500, which callers retry, as API Gateway's own.
      if (result instanceof Promise) void result.then((r) => send(response, r), () => send(response, RESULTS.internalError));
      else send(response, result);
    });
  };
}

function connectionIdOf(url: string, start: number): string | undefined {
  const query = url.indexOf('?', start);
  const encoded = url.slice(start, query === -1 ? undefined : query);
  if (encoded.length === 0 || encoded.includes('/')) return undefined;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

const EMPTY = Buffer.alloc(0);

/** Collects the raw body; undefined when it exceeds the 128 KB message limit (still drained, keeping keep-alive). */
function readBody(request: IncomingMessage, onBody: (data: Buffer | undefined) => void): void {
  const declared = Number(request.headers['content-length'] ?? 0);
  let tooLarge = declared > AWS_LIMITS.maxMessageBytes;
  const chunks: Buffer[] = [];
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > AWS_LIMITS.maxMessageBytes) {
      tooLarge = true;
      chunks.length = 0;
    } else chunks.push(chunk);
  });
  request.on('end', () => {
    if (tooLarge) onBody(undefined);
    else onBody(chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  });
}

function send(response: ServerResponse, result: ManagementResult): void {
  const headers: OutgoingHttpHeaders = { 'x-amzn-RequestId': randomUUID() };
  if (result.errorType) headers['x-amzn-ErrorType'] = result.errorType;
  if (result.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(result.body);
  } else if (result.status !== 204) headers['Content-Length'] = 0;
  response.writeHead(result.status, headers);
  response.end(result.body);
}

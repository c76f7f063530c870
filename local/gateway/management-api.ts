/** The local @connections API over HTTP, as each gateway worker serves it. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { discardRestOfBody, declaredOver } from '../bounded-body';
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
 * The SigV4 signature is checked against the local credentials (403 as API Gateway's). An
 * unsigned call, or a body declared over the 128 KB message limit, is refused before the body is
 * read; a chunked body stops being read once past the limit (bounded-body.ts).
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
      send(response, RESULTS.forbidden);
      return;
    }
    if (request.headers.authorization === undefined) {
      discardRestOfBody(response, LINGER_BYTES);
      send(response, RESULTS.unauthenticated('MissingAuthenticationTokenException', 'Missing Authentication Token'));
      return;
    }
    if (declaredOver(request, AWS_LIMITS.maxMessageBytes)) {
      discardRestOfBody(response, LINGER_BYTES);
      send(response, RESULTS.payloadTooLarge);
      return;
    }
    readBody(request, (data) => {
      if (data === undefined) {
        discardRestOfBody(response, LINGER_BYTES);
        send(response, RESULTS.payloadTooLarge);
        return;
      }
      const rejection = verifier.verify(request, data);
      if (rejection) return send(response, RESULTS.unauthenticated(rejection.code, rejection.message));
      const result = route(op, connectionId, data);
      // A forward to a worker that died must still answer: 500, which callers retry, as API Gateway's own.
      if (result instanceof Promise)
        void result.then(
          (r) => send(response, r),
          () => send(response, RESULTS.internalError),
        );
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
/** What is still read (and dropped) after an early answer, so that a client writing on reads the answer first. */
const LINGER_BYTES = 1024 * 1024;

/** Collects the raw body; undefined as soon as it exceeds the 128 KB message limit (nothing more is read). */
function readBody(request: IncomingMessage, onBody: (data: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= AWS_LIMITS.maxMessageBytes) return void chunks.push(chunk);
    request.off('data', onData);
    request.off('end', onEnd);
    request.pause();
    chunks.length = 0;
    onBody(undefined);
  };
  const onEnd = () => onBody(chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  request.on('data', onData);
  request.on('end', onEnd);
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

/**
 * The AWS JSON 1.0 protocol of Step Functions over node:http: POST /, the operation in
 * `X-Amz-Target: AWSStepFunctions.<Op>`, JSON in and out, errors as HTTP 400 with `__type`.
 * The real @aws-sdk/client-sfn works against it unchanged; requests must be SigV4-signed with
 * the local credentials, as on AWS. As AWS's front end does, a request is refused before its body
 * is read when it is unsigned or its body is over the API's request limit.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AWS_LIMITS } from '#commons/aws-limits';
import { BodyTooLargeError, discardRestOfBody, readBoundedBody } from '../bounded-body';
import { KEEP_ALIVE_TIMEOUT_MS } from '../child-server';
import { SigV4Verifier } from '../sigv4-verifier';
import { SfnApiError, unauthenticated } from './api-errors';
import { operations } from './api';
import type { StepFunctionsService } from './service';

const TARGET_PREFIX = 'AWSStepFunctions.';

/** The protocol sends timestamps as epoch seconds; undefined fields are left out. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, field]) => field !== undefined)
        .map(([key, field]) => [key, toWire(field)]),
    );
  }
  return value;
}

/** AWS counts the headers in its 1 MB request limit too; bounding the body by it is the local approximation. */
const MAX_REQUEST_BYTES = AWS_LIMITS.stepFunctionsApiRequestBytes.value;

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
  });
  response.end(text);
}

async function handle(
  service: StepFunctionsService,
  verifier: SigV4Verifier,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  try {
    const unsigned = verifier.checkHeaders(request);
    if (unsigned) {
      discardRestOfBody(response, MAX_REQUEST_BYTES);
      throw unauthenticated(unsigned.code, unsigned.message);
    }
    const raw = await readBoundedBody(request, MAX_REQUEST_BYTES).catch((error: unknown) => {
      if (!(error instanceof BodyTooLargeError)) throw error;
      discardRestOfBody(response, MAX_REQUEST_BYTES);
      throw new SfnApiError(
        'RequestEntityTooLargeException',
        `Request body is over ${MAX_REQUEST_BYTES.toLocaleString('en-US')} bytes, the Step Functions API request limit`,
        413,
      );
    });
    const rejection = verifier.verify(request, raw);
    if (rejection) throw unauthenticated(rejection.code, rejection.message);
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? operations[target.slice(TARGET_PREFIX.length)] : undefined;
    if (request.method !== 'POST' || !operation)
      throw new SfnApiError('UnknownOperationException', `Unknown operation: '${target}'`);
    const text = raw.toString('utf8');
    let body: Record<string, unknown>;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      throw new SfnApiError('SerializationException', 'Request body is not valid JSON');
    }
    send(response, 200, toWire(await operation(service, body)));
  } catch (err) {
    if (err instanceof SfnApiError) send(response, err.httpStatus, err.toBody());
    else send(response, 500, new SfnApiError('InternalFailure', (err as Error).message ?? String(err), 500).toBody());
  }
}

export function createStepFunctionsServer(service: StepFunctionsService): Server {
  const verifier = new SigV4Verifier({ service: 'states' });
  return createServer(
    { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS },
    (request, response) => void handle(service, verifier, request, response),
  );
}

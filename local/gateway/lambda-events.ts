/** The events API Gateway hands the WebSocket route functions ($connect, $disconnect, $default), in AWS's shapes. */
import type { IncomingMessage } from 'node:http';
import { randomRequestId } from './connection-id';

/** The API and connection facts every WebSocket event repeats in requestContext. */
export interface ConnectionFacts {
  connectionId: string;
  connectedAt: number;
  apiId: string;
  stage: string;
  domainName: string;
  sourceIp: string;
  userAgent: string;
  /** Upgrade request headers, first value each, original case (as API Gateway passes them). */
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
}

export function connectionFactsOf(
  request: IncomingMessage,
  connectionId: string,
  api: { apiId: string; stage: string },
): ConnectionFacts {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const [name, value] = [raw[i], raw[i + 1]];
    (multiValueHeaders[name] ??= []).push(value);
    headers[name] ??= value;
  }
  const sourceIp = request.socket.remoteAddress ?? '127.0.0.1';
  headers['X-Forwarded-For'] ??= sourceIp;
  multiValueHeaders['X-Forwarded-For'] ??= [sourceIp];
  return {
    connectionId,
    connectedAt: Date.now(),
    apiId: api.apiId,
    stage: api.stage,
    // Locally the "domain" is host:port; handlers use CONNECTIONS_ENDPOINT rather than building one.
    domainName: request.headers.host ?? '127.0.0.1',
    sourceIp,
    userAgent: request.headers['user-agent'] ?? '',
    headers,
    multiValueHeaders,
  };
}

function requestContext(facts: ConnectionFacts, routeKey: string, eventType: string) {
  const now = Date.now();
  return {
    routeKey,
    eventType,
    extendedRequestId: randomRequestId(),
    requestTime: apiGatewayTime(now),
    messageDirection: 'IN',
    stage: facts.stage,
    connectedAt: facts.connectedAt,
    requestTimeEpoch: now,
    identity: { sourceIp: facts.sourceIp, userAgent: facts.userAgent },
    requestId: randomRequestId(),
    domainName: facts.domainName,
    connectionId: facts.connectionId,
    apiId: facts.apiId,
  };
}

/**
 * $connect: headers and query string of the upgrade request (queryStringParameters absent when
 * none, as on AWS), and the authorizer's context and principalId in requestContext.authorizer.
 */
export function connectEvent(
  facts: ConnectionFacts,
  query: URLSearchParams,
  authorizer?: { context?: Record<string, unknown>; principalId?: string },
) {
  const event: Record<string, unknown> = {
    headers: facts.headers,
    multiValueHeaders: facts.multiValueHeaders,
    requestContext: {
      ...requestContext(facts, '$connect', 'CONNECT'),
      ...(authorizer && { authorizer: { ...authorizer.context, principalId: authorizer.principalId } }),
    },
    isBase64Encoded: false,
  };
  if (query.size > 0) {
    const single: Record<string, string> = {};
    const multi: Record<string, string[]> = {};
    for (const [name, value] of query) {
      single[name] = value;
      (multi[name] ??= []).push(value);
    }
    event.queryStringParameters = single;
    event.multiValueQueryStringParameters = multi;
  }
  return event;
}

export function disconnectEvent(facts: ConnectionFacts, statusCode: number, reason: string) {
  const headers = { Host: facts.domainName, 'X-Forwarded-For': facts.sourceIp };
  return {
    headers,
    multiValueHeaders: { Host: [facts.domainName], 'X-Forwarded-For': [facts.sourceIp] },
    requestContext: {
      ...requestContext(facts, '$disconnect', 'DISCONNECT'),
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
    },
    isBase64Encoded: false,
  };
}

/** A client message on its route ($default unless its action names one); binary frames arrive base64-encoded, as on AWS. */
export function messageEvent(facts: ConnectionFacts, body: string, isBase64Encoded: boolean, routeKey = '$default') {
  return {
    requestContext: { ...requestContext(facts, routeKey, 'MESSAGE'), messageId: randomRequestId() },
    body,
    isBase64Encoded,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's requestTime format: "09/Feb/2024:10:00:00 +0000". */
function apiGatewayTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/**
 * The checks API Gateway makes on a WebSocket opening handshake before anything runs: a
 * malformed upgrade never reaches the authorizer or $connect (RFC 6455 §4.2.1: GET,
 * `Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Version: 13`, a key that is
 * 16 bytes in base64, subprotocols as tokens). Also the one place that reads the subprotocol
 * a $connect result selects: API Gateway answers with the `Sec-WebSocket-Protocol` header the
 * integration returns, never one the client merely asked for.
 */
import type { IncomingMessage } from 'node:http';

/** Why a handshake is refused: the status and one line saying what was wrong and what is allowed. */
export interface HandshakeRejection {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/** 16 random bytes in base64: 22 characters and "==" (RFC 6455 §4.1). */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** An HTTP token (RFC 7230 §3.2.6), what each subprotocol name must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function checkHandshake(request: IncomingMessage): HandshakeRejection | undefined {
  if (request.method !== 'GET')
    return {
      status: 405,
      message: `a WebSocket handshake must be a GET, got ${request.method}`,
      headers: { Allow: 'GET' },
    };
  const { headers } = request;
  if (headers.upgrade?.toLowerCase() !== 'websocket')
    return { status: 400, message: `Upgrade must be "websocket", got "${headers.upgrade ?? ''}"` };
  if (!tokensOf(headers.connection).some((token) => token.toLowerCase() === 'upgrade')) {
    return { status: 400, message: `Connection must include "Upgrade", got "${headers.connection ?? ''}"` };
  }
  const version = headers['sec-websocket-version'];
  if (version !== '13') {
    // RFC 6455 §4.2.2: an unsupported version is answered 426 with the versions the server speaks.
    return {
      status: 426,
      message: `Sec-WebSocket-Version must be 13, got "${version ?? ''}"`,
      headers: { 'Sec-WebSocket-Version': '13' },
    };
  }
  const key = headers['sec-websocket-key'];
  if (!key || !KEY.test(key))
    return {
      status: 400,
      message: `Sec-WebSocket-Key must be 16 bytes in base64 (24 characters ending in "=="), got "${key ?? ''}"`,
    };
  const protocols = headers['sec-websocket-protocol'];
  if (protocols !== undefined && !tokensOf(protocols).every((name) => TOKEN.test(name))) {
    return {
      status: 400,
      message: `Sec-WebSocket-Protocol must be a comma-separated list of tokens, got "${protocols}"`,
    };
  }
  return undefined;
}

/** The subprotocol a $connect result selects (its `Sec-WebSocket-Protocol` header, any case), if any. */
export function selectedSubprotocol(result: unknown): string | undefined {
  const headers = (result as { headers?: unknown } | null | undefined)?.headers;
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'sec-websocket-protocol' && typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

function tokensOf(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter(Boolean);
}

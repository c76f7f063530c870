/**
 * SigV4 checking for the local services that face callers (@connections, Step Functions):
 * the signature is recomputed (the canonical request of the SigV4 specification, as
 * @smithy/signature-v4 builds it) from the request as received
 * (method, raw path, query, the headers it names as signed, the hash of the body) and the
 * local stack's credentials, and compared with the one sent, as AWS does. A request signed
 * over a different path, body or key is refused instead of silently served.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../lib/local-account';

/** Why a request was refused: the error code AWS uses and its message. */
export interface SigV4Rejection {
  code:
    | 'MissingAuthenticationTokenException'
    | 'IncompleteSignatureException'
    | 'UnrecognizedClientException'
    | 'InvalidSignatureException';
  message: string;
}

/** What the verifier reads of a request (node's IncomingMessage fits). */
export interface ReceivedRequest {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
}

export interface SigV4VerifierOptions {
  /** The signing name of the service: `execute-api`, `states`. */
  service: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** AWS refuses a request whose X-Amz-Date is more than 15 minutes from its clock. */
const MAX_CLOCK_SKEW_MS = 15 * 60_000;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** Signing keys by day: one chain of four HMACs per day and service, as clients cache them too. */
const MAX_CACHED_KEYS = 4;

export class SigV4Verifier {
  private readonly service: string;
  private readonly region: string;
  private readonly credentials: { accessKeyId: string; secretAccessKey: string };
  private readonly signingKeys = new Map<string, Buffer>();

  constructor(options: SigV4VerifierOptions) {
    this.service = options.service;
    this.region = options.region ?? LOCAL_REGION;
    this.credentials = options.credentials ?? LOCAL_CREDENTIALS;
  }

  /**
   * What can be refused before the body is read: no signature, a malformed one, another key,
   * service or region, or an expired date. A service reads the body only when this passes.
   */
  checkHeaders(request: ReceivedRequest): SigV4Rejection | undefined {
    const parsed = this.parse(request);
    return 'code' in parsed ? parsed : undefined;
  }

  /**
   * Undefined when the request is signed by the local credentials over exactly what was received.
   * Synchronous and without a signer object: it runs for every @connections call of a broadcast.
   */
  verify(request: ReceivedRequest, body: Buffer): SigV4Rejection | undefined {
    const parsed = this.parse(request);
    if ('code' in parsed) return parsed;
    const { scopeDate, region, service, amzDate, signedHeaders, signature } = parsed;

    // Services other than S3 hash the body they received; a declared hash must match it.
    const payloadHash = createHash('sha256').update(body).digest('hex');
    const declaredHash = header(request.headers, 'x-amz-content-sha256');
    if (declaredHash !== undefined && declaredHash !== payloadHash) return invalid(SIGNATURE_MISMATCH);

    const canonicalHeaders: string[] = [];
    const headerNames = [...signedHeaders].sort();
    for (const name of headerNames) {
      const value = header(request.headers, name);
      if (value === undefined) return invalid(SIGNATURE_MISMATCH);
      canonicalHeaders.push(`${name}:${canonicalHeaderValue(value)}\n`);
    }
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const canonicalRequest =
      `${request.method ?? 'GET'}\n${canonicalPath(queryStart === -1 ? url : url.slice(0, queryStart))}\n${queryStart === -1 ? '' : canonicalQuery(url.slice(queryStart + 1))}\n` +
      `${canonicalHeaders.join('')}\n${headerNames.join(';')}\n${payloadHash}`;
    const scope = `${scopeDate}/${region}/${service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const expected = createHmac('sha256', this.signingKey(scopeDate)).update(stringToSign).digest();
    const sent = Buffer.from(signature, 'hex');
    return sent.length === expected.length && timingSafeEqual(sent, expected) ? undefined : invalid(SIGNATURE_MISMATCH);
  }

  /** The Authorization header's parts, checked as far as they can be without the body. */
  private parse(request: ReceivedRequest):
    | SigV4Rejection
    | {
        scopeDate: string;
        region: string;
        service: string;
        amzDate: string;
        signedHeaders: string[];
        signature: string;
      } {
    const authorization = request.headers.authorization;
    if (authorization === undefined)
      return { code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
    const parsed = AUTHORIZATION.exec(authorization);
    if (!parsed)
      return {
        code: 'IncompleteSignatureException',
        message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters of AWS4-HMAC-SHA256. Authorization=${authorization}`,
      };
    const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = parsed;
    if (accessKeyId !== this.credentials.accessKeyId)
      return { code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
    if (service !== this.service) return invalid(`Credential should be scoped to correct service: '${this.service}'.`);
    if (region !== this.region) return invalid(`Credential should be scoped to a valid region, not '${region}'.`);

    const amzDate = header(request.headers, 'x-amz-date');
    const signedHeaders = signedHeaderList.split(';');
    if (!amzDate || !signedHeaders.includes('x-amz-date') || !signedHeaders.includes('host')) {
      return {
        code: 'IncompleteSignatureException',
        message: 'Authorization header requires the host and x-amz-date headers to be signed.',
      };
    }
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate || !amzDate.startsWith(scopeDate)) return invalid(SIGNATURE_MISMATCH);
    if (Math.abs(Date.now() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
      return invalid(`Signature expired: ${amzDate} is now earlier or later than 15 minutes from the server's time.`);
    }
    return { scopeDate, region, service, amzDate, signedHeaders, signature };
  }

  /** kSigning = HMAC chain of the secret over the day, region, service and "aws4_request". */
  private signingKey(day: string): Buffer {
    let key = this.signingKeys.get(day);
    if (!key) {
      key = Buffer.from(`AWS4${this.credentials.secretAccessKey}`);
      for (const part of [day, this.region, this.service, 'aws4_request'])
        key = createHmac('sha256', key).update(part).digest();
      if (this.signingKeys.size >= MAX_CACHED_KEYS)
        this.signingKeys.delete(this.signingKeys.keys().next().value as string);
      this.signingKeys.set(day, key);
    }
    return key;
  }
}

/** The path as every SDK but S3's signs it: dot segments resolved, then URI-escaped again (so %40 becomes %2540). */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

/** Names and values decoded and URI-escaped; sorted by name, a name's pairs among themselves. */
function canonicalQuery(query: string): string {
  const pairsByKey = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(query)) {
    if (key.toLowerCase() === 'x-amz-signature') continue;
    const escaped = escapeUri(key);
    const pairs = pairsByKey.get(escaped) ?? [];
    pairs.push(`${escaped}=${escapeUri(value)}`);
    pairsByKey.set(escaped, pairs);
  }
  return [...pairsByKey.keys()]
    .sort()
    .map((key) => pairsByKey.get(key)!.sort().join('&'))
    .join('&');
}

/** Line breaks to spaces, runs of blanks to one, trimmed. */
function canonicalHeaderValue(value: string): string {
  return value
    .replace(/[\r\n]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
}

/** RFC 3986 escaping, as the SDK signs: encodeURIComponent and also !'()*. */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function invalid(message: string): SigV4Rejection {
  return { code: 'InvalidSignatureException', message };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** 20261123T184810Z → Date; undefined when malformed. */
function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

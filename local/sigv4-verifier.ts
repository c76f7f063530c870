/**
 * SigV4 checking for the local services that face callers (@connections, Step Functions):
 * the signature is recomputed with @smithy/signature-v4 from the request as received
 * (method, raw path, query, the headers it names as signed, the hash of the body) and the
 * local stack's credentials, and compared with the one sent, as AWS does. A request signed
 * over a different path, body or key is refused instead of silently served.
 */
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local-account';

/** Why a request was refused: the error code AWS uses and its message. */
export interface SigV4Rejection {
  code: 'MissingAuthenticationTokenException' | 'IncompleteSignatureException' | 'UnrecognizedClientException' | 'InvalidSignatureException';
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

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** SHA-256 and HMAC-SHA256 from node:crypto, in the shape @smithy/signature-v4 hashes with. */
class NodeSha256 implements Checksum {
  private hash!: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.reset();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }

  reset(): void {
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export class SigV4Verifier {
  private readonly service: string;
  private readonly region: string;
  private readonly credentials: { accessKeyId: string; secretAccessKey: string };
  private readonly signer: SignatureV4;

  constructor(options: SigV4VerifierOptions) {
    this.service = options.service;
    this.region = options.region ?? LOCAL_REGION;
    this.credentials = options.credentials ?? LOCAL_CREDENTIALS;
    this.signer = new SignatureV4({ service: this.service, region: this.region, credentials: this.credentials, sha256: NodeSha256, applyChecksum: false });
  }

  /** Undefined when the request is signed by the local credentials over exactly what was received. */
  async verify(request: ReceivedRequest, body: Buffer): Promise<SigV4Rejection | undefined> {
    const authorization = request.headers.authorization;
    if (authorization === undefined) return { code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
    const parsed = AUTHORIZATION.exec(authorization);
    if (!parsed) return { code: 'IncompleteSignatureException', message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters of AWS4-HMAC-SHA256. Authorization=${authorization}` };
    const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = parsed;
    if (accessKeyId !== this.credentials.accessKeyId) return { code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
    if (service !== this.service) return invalid(`Credential should be scoped to correct service: '${this.service}'.`);
    if (region !== this.region) return invalid(`Credential should be scoped to a valid region, not '${region}'.`);

    const amzDate = header(request.headers, 'x-amz-date');
    const signedHeaders = signedHeaderList.split(';');
    if (!amzDate || !signedHeaders.includes('x-amz-date') || !signedHeaders.includes('host')) {
      return { code: 'IncompleteSignatureException', message: 'Authorization header requires the host and x-amz-date headers to be signed.' };
    }
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate || !amzDate.startsWith(scopeDate)) return invalid(SIGNATURE_MISMATCH);
    if (Math.abs(Date.now() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
      return invalid(`Signature expired: ${amzDate} is now earlier or later than 15 minutes from the server's time.`);
    }

    // Services other than S3 hash the body they received; a declared hash must match it.
    const declaredHash = header(request.headers, 'x-amz-content-sha256');
    if (declaredHash !== undefined && declaredHash !== createHash('sha256').update(body).digest('hex')) return invalid(SIGNATURE_MISMATCH);

    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const headers: Record<string, string> = {};
    for (const name of signedHeaders) {
      const value = header(request.headers, name);
      if (value === undefined) return invalid(SIGNATURE_MISMATCH);
      headers[name] = value;
    }
    const recomputed = await this.signer.sign(
      {
        method: request.method ?? 'GET',
        protocol: 'http:',
        hostname: headers.host,
        path: queryStart === -1 ? url : url.slice(0, queryStart),
        query: queryStart === -1 ? {} : parseQuery(url.slice(queryStart + 1)),
        headers,
        body,
      },
      { signingDate, signingRegion: region, signingService: service, signableHeaders: new Set(signedHeaders) },
    );
    const expected = /Signature=([0-9a-f]{64})$/.exec(String(recomputed.headers.authorization))?.[1] ?? '';
    const matches = expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
    return matches ? undefined : invalid(SIGNATURE_MISMATCH);
  }
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

function parseQuery(query: string): Record<string, string | string[]> {
  const parsed: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    const existing = parsed[key];
    parsed[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return parsed;
}

/**
 * Clients of the @connections API: the SDK client for the occasional call, and ConnectionPoster
 * for the one post per socket that delivery makes.
 */
import { createHash } from 'node:crypto';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import aws4 from 'aws4';
import { Pool } from 'undici';

/**
 * The SDK client for the @connections calls that are not the per-socket hot loop
 * (the credentials and region for the poster below).
 */
export function createManagementApiClient(endpoint: string): ApiGatewayManagementApiClient {
  // One attempt per call: every @connections call is drawn from the delivery budget, and the
  // SDK's own retries (of 429s above all) would be calls the budget never granted.
  return new ApiGatewayManagementApiClient({ endpoint, maxAttempts: 1 });
}

/**
 * What one @connections call did to one socket: `throttled` (429) is backpressure and never
 * counts as an attempt; `retry` (5xx) and `unanswered` do. `unanswered` is no answer at all (the
 * connection reset or timed out): API Gateway may have written the message before its answer was
 * lost, so the retry that keeps the socket from missing it may make it a second copy. An answer
 * no retry can fix throws PostRejectedError.
 */
export type PostOutcome = 'delivered' | 'gone' | 'throttled' | 'retry' | 'unanswered';

/** A @connections answer that no retry can fix (403 bad credentials, 413 payload too large, ...). */
export class PostRejectedError extends Error {
  override name = 'PostRejectedError';
  constructor(
    readonly statusCode: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

/** A message to post, with its SHA-256 computed once instead of once per socket. */
export interface PreparedPayload {
  body: Buffer;
  sha256: string;
}

export function preparePayload(message: string): PreparedPayload {
  const body = Buffer.from(message, 'utf8');
  return { body, sha256: createHash('sha256').update(body).digest('hex') };
}

/**
 * PostToConnection for the delivery hot loop. The SDK client spends ~0.5 ms of CPU per
 * call (middleware stack, endpoint resolution, retries); here one call is a SigV4
 * signature (aws4 caches the signing key) over a precomputed payload hash and a request
 * on a keep-alive undici pool: several times more posts per core (see bench/). Outcomes
 * are classified, not thrown, so one socket cannot fail the others.
 */
export class ConnectionPoster {
  private readonly pool: Pool;
  private readonly host: string;
  private readonly basePath: string;
  private region?: Promise<string>;

  constructor(
    endpoint: string,
    private readonly client: ApiGatewayManagementApiClient,
    connections: number,
  ) {
    const url = new URL(endpoint);
    this.host = url.host;
    this.basePath = url.pathname.replace(/\/$/, '');
    this.pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  async post(connectionId: string, payload: PreparedPayload): Promise<PostOutcome> {
    // The SDK's credential provider is memoized and refreshes before expiry; the Region never changes.
    this.region ??= this.client.config.region();
    const [credentials, region] = await Promise.all([this.client.config.credentials(), this.region]);
    const path = `${this.basePath}/@connections/${encodeURIComponent(connectionId)}`;
    const signed = aws4.sign(
      {
        host: this.host,
        path,
        method: 'POST',
        service: 'execute-api',
        region,
        body: payload.body,
        headers: { 'Content-Type': 'application/octet-stream', 'X-Amz-Content-Sha256': payload.sha256 },
      },
      credentials,
    );
    let statusCode: number;
    let responseBody: string;
    let errorType: string;
    try {
      const response = await this.pool.request({
        path,
        method: 'POST',
        headers: signed.headers as Record<string, string>,
        body: payload.body,
      });
      statusCode = response.statusCode;
      errorType = String(response.headers['x-amzn-errortype'] ?? '').split(':')[0];
      responseBody = await response.body.text();
    } catch {
      return 'unanswered'; // reset, refused or timed out: the message may or may not have gone out
    }
    if (statusCode < 300) return 'delivered';
    if (statusCode === 410) return 'gone';
    if (statusCode === 429) return 'throttled';
    if (statusCode >= 500) return 'retry';
    throw new PostRejectedError(
      statusCode,
      errorType,
      `PostToConnection answered ${statusCode} ${errorType}: ${responseBody.slice(0, 200)}`,
    );
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

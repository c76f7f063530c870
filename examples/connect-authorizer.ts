/**
 * An example $connect authorizer (Lambda REQUEST authorizer) for swarmcast: a client connects with
 * `?token=<expiry>.<signature>`, where expiry is epoch seconds and signature is the hex
 * HMAC-SHA256 of the expiry under CONNECT_AUTHORIZER_SECRET. Your backend issues such tokens to
 * the users it lets in. Point the configuration at this file (`"connectAuthorizer":
 * "examples/connect-authorizer.ts"`) or at your own handler of the same shape.
 * For production, keep the secret in Secrets Manager rather than the environment.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { ENV } from '#commons/environment';
import { getStringFromEnv } from '#commons/helpers/env';

const secret = getStringFromEnv(ENV.connectAuthorizerSecret);

/** A token valid until `expiresAt` (epoch seconds): what the issuing backend hands to a client. */
export function issueToken(expiresAt: number, key = secret): string {
  return `${expiresAt}.${sign(String(expiresAt), key)}`;
}

/** Throwing "Unauthorized" makes API Gateway answer 401; a Deny policy, 403. */
export const handler = async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
  const token = event.queryStringParameters?.token;
  if (!token) throw new Error('Unauthorized');
  const [expiry, signature] = token.split('.');
  const valid =
    /^\d+$/.test(expiry ?? '') && Number(expiry) > Date.now() / 1000 && sameHex(signature ?? '', sign(expiry, secret));
  return {
    principalId: valid ? `token-${expiry}` : 'anonymous',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: valid ? 'Allow' : 'Deny', Resource: event.methodArn }],
    },
  };
};

function sign(text: string, key: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

function sameHex(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The gateway's throttles as settings: API Gateway's account throttle on @connections calls
 * (and handshakes) and its new-connection rate, with AWS's defaults, and the one parser the
 * CLI, the demo and the benches use for them.
 */
import { AWS_LIMITS } from '../../functions/commons/aws-limits';
import type { RateLimit } from './token-bucket';

/** A rate limit, or 'off' for none. */
export type Throttle = RateLimit | 'off';

export const DEFAULT_QUOTA: RateLimit = {
  ratePerSecond: AWS_LIMITS.apiGatewayAccountRatePerSecond.value,
  burst: AWS_LIMITS.apiGatewayAccountBurst.value,
};

/** AWS documents no burst for new connections: one second's worth is assumed. */
export const DEFAULT_CONNECT_RATE: RateLimit = {
  ratePerSecond: AWS_LIMITS.webSocketNewConnectionsPerSecond.value,
  burst: AWS_LIMITS.webSocketNewConnectionsPerSecond.value,
};

const MAX_RATE = 1_000_000;

export class ThrottleSyntaxError extends Error {
  override name = 'ThrottleSyntaxError';
}

/** "RATE[/BURST]" or "off" → a throttle; a missing burst is half the rate, as AWS's 10,000/5,000. */
export function parseQuota(text: string, name = '--quota'): Throttle {
  const match = /^(\d+)(?:\/(\d+))?$/.exec(text);
  if (text.trim() === 'off') return 'off';
  const rate = match ? Number(match[1]) : NaN;
  const burst = match?.[2] !== undefined ? Number(match[2]) : Math.max(1, Math.floor(rate / 2));
  if (!match || !inRange(rate) || !inRange(burst)) {
    throw new ThrottleSyntaxError(
      `${name} must be RATE[/BURST] (whole numbers from 1 to ${MAX_RATE.toLocaleString('en-US')}, e.g. 10000/5000) or "off", got "${text}".`,
    );
  }
  return { ratePerSecond: rate, burst };
}

/** "N" (new connections per second, burst N) or "off". */
export function parseConnectRate(text: string, name = '--connect-rate'): Throttle {
  if (text.trim() === 'off') return 'off';
  const rate = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!inRange(rate)) {
    throw new ThrottleSyntaxError(
      `${name} must be a whole number of connections per second from 1 to ${MAX_RATE.toLocaleString('en-US')} (AWS: 500) or "off", got "${text}".`,
    );
  }
  return { ratePerSecond: rate, burst: rate };
}

/** "10000/5000", "500/500" or "off", for logs and summaries. */
export function formatThrottle(throttle: Throttle): string {
  return throttle === 'off' ? 'off' : `${throttle.ratePerSecond}/${throttle.burst}`;
}

function inRange(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_RATE;
}

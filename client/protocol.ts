/**
 * What a swarmcast client and the WebSocket API agree on: the keep-alive route, the broadcast-id
 * envelope, and the timings API Gateway imposes on a socket. The CDK stack, the local gateway and
 * the client helper all read them from here, so the route a client pings is the route that exists.
 * No imports: this file runs in browsers too.
 */

/**
 * The API selects a route by `$request.body.action`; a message `{"action":"ping"}` takes the
 * keep-alive route, which API Gateway answers itself (a MOCK integration, no route response):
 * no Lambda runs and nothing is sent back.
 */
export const ROUTE_SELECTION_KEY = 'action';
export const KEEP_ALIVE_ROUTE = 'ping';
export const KEEP_ALIVE_MESSAGE = JSON.stringify({ [ROUTE_SELECTION_KEY]: KEEP_ALIVE_ROUTE });

/**
 * {"action":"subscribe","channel":"a"} joins a channel, "unsubscribe" leaves it: a route each, one
 * function for both, whose answer comes back on the socket (docs/channels.md).
 */
export const SUBSCRIPTION_ROUTES = ['subscribe', 'unsubscribe'] as const;
export type SubscriptionRoute = (typeof SUBSCRIPTION_ROUTES)[number];

/** API Gateway closes a socket with no traffic for 10 minutes (its WebSocket quotas; test/unit/client/swarmcast-client.test.ts checks these against aws-limits.ts). */
export const IDLE_TIMEOUT_MS = 10 * 60_000;
/** ... and any socket 2 hours after it connected. */
export const MAX_CONNECTION_MS = 2 * 60 * 60_000;

/** Keep-alive: a ping after 9 minutes ± 30 s without sending anything, 30 s or more inside the idle timeout; the jitter keeps a million clients that connected together from pinging together. */
export const KEEP_ALIVE_INTERVAL_MS = { min: 8.5 * 60_000, max: 9.5 * 60_000 };
/** Planned reconnect: at a random time in [100, 115] minutes, so sockets opened together do not all reach the 2-hour close together (a synchronized reconnect of 1M clients takes 33 minutes at the 500/s new-connection quota). */
export const RECYCLE_AFTER_MS = { min: 100 * 60_000, max: 115 * 60_000 };
/** Reconnect after a failure: "full jitter" over an exponential ceiling from 1 s to 60 s. */
export const RECONNECT_BACKOFF_MS = { base: 1_000, cap: 60_000 };

/** The mean keep-alive interval: what a client's pings cost per hour follows from it (swarmcast plan). */
export const MEAN_KEEP_ALIVE_INTERVAL_MS = (KEEP_ALIVE_INTERVAL_MS.min + KEEP_ALIVE_INTERVAL_MS.max) / 2;
/** The mean time a socket lives before its planned reconnect. */
export const MEAN_RECYCLE_AFTER_MS = (RECYCLE_AFTER_MS.min + RECYCLE_AFTER_MS.max) / 2;

/** A random time in [min, max]; `random` is Math.random unless a test fixes it. */
export function between(range: { min: number; max: number }, random: () => number = Math.random): number {
  return range.min + random() * (range.max - range.min);
}

/** A broadcast in the broadcast-id envelope (the stack's `broadcastIdEnvelope: true`). */
export interface Envelope {
  broadcastId: string;
  message: string;
}

/** The envelope a frame carries, or undefined for a bare message (the envelope is off, or the frame is something else). */
export function envelopeOf(frame: string): Envelope | undefined {
  if (!frame.startsWith('{"broadcastId"')) return undefined;
  try {
    const parsed = JSON.parse(frame) as Partial<Envelope>;
    return typeof parsed.broadcastId === 'string' && typeof parsed.message === 'string'
      ? { broadcastId: parsed.broadcastId, message: parsed.message }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Route selection as the swarmcast API does it (`$request.body.action`, infra/constructs/
 * websocket-gateway.ts): a JSON message whose `action` names a route takes that route; anything
 * else, including text that is not JSON, takes $default.
 */
import {
  KEEP_ALIVE_ROUTE,
  ROUTE_SELECTION_KEY,
  SUBSCRIPTION_ROUTES,
  type SubscriptionRoute,
} from '../../client/protocol';

/** The routes a client message can take: the keep-alive route (API Gateway answers it itself), subscribe/unsubscribe, or $default. */
export type MessageRoute = typeof KEEP_ALIVE_ROUTE | SubscriptionRoute | '$default';

const ROUTE_KEYS: ReadonlySet<string> = new Set([KEEP_ALIVE_ROUTE, ...SUBSCRIPTION_ROUTES]);

export function selectRoute(body: string): MessageRoute {
  // Only a JSON object can carry an action: skip the parse for everything else.
  if (!body.trimStart().startsWith('{')) return '$default';
  try {
    const parsed = JSON.parse(body) as Record<string, unknown> | null;
    const action = parsed?.[ROUTE_SELECTION_KEY];
    return typeof action === 'string' && ROUTE_KEYS.has(action) ? (action as MessageRoute) : '$default';
  } catch {
    return '$default';
  }
}

/**
 * How the local stack wires each function of functions/catalog.ts, by its trigger: routes run
 * inside the gateway's workers, the shard queue consumer behind the local SQS event source, the
 * state-machine tasks behind the local Step Functions. One case per kind of trigger, none per function.
 */
import {
  catalogEntries,
  type CatalogEntry,
  type FunctionName,
  routesOf,
  type WebSocketRoute,
} from '../functions/catalog';
import type { RouteHandlerModules } from './gateway';

/** The local gateway's name for each WebSocket route. */
export const GATEWAY_ROUTES = {
  $connect: 'connect',
  $disconnect: 'disconnect',
  $default: 'default',
  subscribe: 'subscriptions',
  unsubscribe: 'subscriptions',
} as const satisfies Record<WebSocketRoute, keyof RouteHandlerModules>;

export type GatewayRoute = (typeof GATEWAY_ROUTES)[WebSocketRoute];

export interface LocalWiringPlan {
  /** Functions the gateway runs for its routes. */
  routes: { route: GatewayRoute; name: FunctionName }[];
  /** Functions the local Lambda runtime runs outside the gateway: the consumer and the tasks. */
  invoked: FunctionName[];
  /** The function behind the shard queues' event source. */
  shardQueueConsumer: FunctionName;
  /** The functions the state machine's Lambda tasks invoke. */
  stateMachineTasks: FunctionName[];
}

export class LocalWiringError extends Error {
  override name = 'LocalWiringError';
}

/** The wiring of every catalog entry; a kind of trigger the local stack cannot run fails to compile. */
export function localWiringPlan(entries: [FunctionName, CatalogEntry][] = catalogEntries()): LocalWiringPlan {
  const routes: LocalWiringPlan['routes'] = [];
  const consumers: FunctionName[] = [];
  const stateMachineTasks: FunctionName[] = [];
  for (const [name, { trigger }] of entries) {
    switch (trigger.kind) {
      case 'route':
        // A function serving several routes is one gateway route (the gateway selects by action).
        for (const route of new Set(routesOf(trigger).map((key) => GATEWAY_ROUTES[key]))) routes.push({ route, name });
        break;
      case 'shardQueueConsumer':
        consumers.push(name);
        break;
      case 'stateMachineTask':
        stateMachineTasks.push(name);
        break;
      default:
        throw new LocalWiringError(
          `${name}: the local stack has no wiring for trigger ${JSON.stringify(trigger satisfies never)}`,
        );
    }
  }
  // The local event source runs one function over every shard queue, as the CDK stack does.
  if (consumers.length !== 1) {
    throw new LocalWiringError(
      `the local stack needs exactly one shard queue consumer in functions/catalog.ts, found ${consumers.length}: ${consumers.join(', ') || 'none'}`,
    );
  }
  return {
    routes,
    invoked: [...consumers, ...stateMachineTasks],
    shardQueueConsumer: consumers[0],
    stateMachineTasks,
  };
}

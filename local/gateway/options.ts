/** What startGateway() accepts, and the resolved form each worker process receives. */
import { AWS_LIMITS as AWS } from '../../functions/commons/aws-limits';
import type { Throttle } from './throttles';

/** Module paths (absolute, .ts or .js) of the Lambda handlers behind the routes; each exports `handler`. */
export interface RouteHandlerModules {
  connect?: string;
  disconnect?: string;
  default?: string;
  /** The subscribe and unsubscribe routes' one function. */
  subscriptions?: string;
  /** A Lambda REQUEST authorizer run before $connect (connect-authorizer.ts). */
  authorizer?: string;
}

/** The environment of each route's function; a function sees exactly its own and nothing else. */
export type RouteEnvironments = { [Route in keyof RouteHandlerModules]?: Record<string, string> };

export interface GatewayOptions {
  handlers: RouteHandlerModules;
  /** Environment of every route's function, unless `routeEnv` gives the route its own. */
  env?: Record<string, string>;
  /** Environments per route (the local stack: each function's catalog environment). */
  routeEnv?: RouteEnvironments;
  /**
   * Instances of each route's function per worker process, hence its invocations in flight there:
   * a Lambda instance runs one invocation at a time (local/lambda/local-function.ts).
   */
  instancesPerRoute?: number;
  /** Worker processes holding sockets: one process here holds at most ~20,000 (open-files limit). */
  workers?: number;
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port of the WebSocket endpoint and the @connections API (default: any free port). */
  port?: number;
  /** Stage name: the @connections path prefix and the optional WebSocket path (default "live"). */
  stage?: string;
  /** The API id the events carry (default: random, 10 characters like AWS). */
  apiId?: string;
  /** Close a socket with no traffic for this long (AWS: 10 minutes). */
  idleTimeoutMs?: number;
  /** Close any socket this long after it connected (AWS: 2 hours). */
  maxConnectionMs?: number;
  /** API Gateway's integration timeout: a handler slower than this fails its route (AWS: 29 s). */
  integrationTimeoutMs?: number;
  /** Bytes one socket may hold unsent (a slow reader); a post that would pass it answers 429 LimitExceededException. */
  maxBufferedBytes?: number;
  /** Bytes all sockets of one worker together may hold unsent; a post that would pass it answers 429 LimitExceededException. */
  maxBufferedBytesTotal?: number;
  /** A connection that has not sent a whole handshake (or request) within this long is closed (a half-open handshake). */
  handshakeTimeoutMs?: number;
  /**
   * API Gateway's account throttle over every @connections call and handshake, shared by all
   * workers (default AWS's 10,000/s, burst 5,000; 'off' for none). Over it: 429 LimitExceededException.
   */
  quota?: Throttle;
  /** New connections per second, shared by all workers (default AWS's 500/s); over it the handshake answers 429. */
  connectRate?: Throttle;
  /** Socket-less connection ids 0..N-1 that count posts instead of sending them (virtual-connections.ts). */
  virtualConnections?: number;
  /** A share of the virtual connections whose buffer is full: each answers posts 429 for `fullMs` after its first post (a slow reader), then takes them. */
  slowVirtualConnections?: SlowVirtualConnections;
  /** Where the handlers' stdout goes (their logs); the gateway's own errors always go to stderr. */
  handlerOutput?: 'inherit' | 'ignore';
  /** Called when a worker process exits while the gateway runs (its sockets are gone). */
  onWorkerExit?: (workerIndex: number, code: number | null, signal: NodeJS.Signals | null) => void;
}

/** Everything a worker needs, sent once over IPC (no functions, only data). */
export interface WorkerConfig {
  workerIndex: number;
  workerCount: number;
  handlers: RouteHandlerModules;
  environments: RouteEnvironments;
  instancesPerRoute: number;
  host: string;
  stage: string;
  apiId: string;
  idleTimeoutMs: number;
  maxConnectionMs: number;
  integrationTimeoutMs: number;
  maxBufferedBytes: number;
  maxBufferedBytesTotal: number;
  handshakeTimeoutMs: number;
  quota: Throttle;
  connectRate: Throttle;
  virtualConnections: number;
  slowVirtualConnections?: SlowVirtualConnections;
}

/** Slow readers among the virtual connections (virtual-connections.ts). */
export interface SlowVirtualConnections {
  /** Share of the ids, 0 to 1. */
  share: number;
  /** How long a slow id answers 429 after its first post: its buffer drains in this long. */
  fullMs: number;
}

/** API Gateway's limits the gateway enforces, from functions/commons/aws-limits.ts (with their sources). */
export const AWS_LIMITS = {
  idleTimeoutMs: AWS.webSocketIdleTimeoutSeconds.value * 1000,
  maxConnectionMs: AWS.webSocketMaxConnectionSeconds.value * 1000,
  integrationTimeoutMs: AWS.apiGatewayIntegrationTimeoutSeconds.value * 1000,
  /** PostToConnection payload and incoming message size. */
  maxMessageBytes: AWS.webSocketMessageBytes.value,
  /** A client's frames: a larger one closes the socket with 1009. */
  maxFrameBytes: AWS.webSocketFrameBytes.value,
} as const;

export const DEFAULTS = {
  workers: 1,
  host: '127.0.0.1',
  port: 0,
  stage: 'live',
  // AWS documents no size for a client's buffer: eight messages of the largest size per socket,
  // and a bound per worker so that slow readers cannot take the machine's memory.
  maxBufferedBytes: 8 * 128 * 1024,
  maxBufferedBytesTotal: 256 * 1024 * 1024,
  // AWS documents no handshake timeout: long enough for a loaded machine, short enough that half-open handshakes do not pile up.
  handshakeTimeoutMs: 10_000,
  // The local stack passes infra/config.ts's localInstancesPerFunction instead.
  instancesPerRoute: 4,
} as const;

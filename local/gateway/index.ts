/**
 * Local emulator of an API Gateway WebSocket API and its @connections management API.
 * See README.md in this folder for the design; startGateway() is the whole interface.
 */
import { randomBytes } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import { MAX_WORKERS, virtualConnectionId } from './connection-id';
import { claimPort, lockPort, type PortClaim } from './port-claim';
import { AWS_LIMITS, DEFAULTS, type GatewayOptions, type RouteEnvironments, type WorkerConfig } from './options';
import { DEFAULT_CONNECT_RATE, DEFAULT_QUOTA, type Throttle } from './throttles';
import type { VirtualDeliveries } from './virtual-connections';
import { WorkerProcess } from './worker-process';
import type { WorkerStats } from './worker-protocol';

export type { GatewayOptions, RouteHandlerModules } from './options';
export type { Throttle } from './throttles';
export type { VirtualDeliveries } from './virtual-connections';
export type { WorkerStats } from './worker-protocol';

/** Virtual connection ids are numbered in 32 bits. */
const MAX_VIRTUAL_CONNECTIONS = 2 ** 32 - 1;

export interface GatewayStats {
  workers: WorkerStats[];
  /** Open sockets over all workers. */
  connections: number;
}

export interface Gateway {
  /** ws://host:port/{stage} (clients may also connect to ws://host:port/). */
  webSocketUrl: string;
  /** Base URL of the @connections API, stage included: http://host:port/{stage}. */
  connectionsEndpoint: string;
  port: number;
  /** The throttles in force (options or AWS's defaults). */
  throttles: { quota: Throttle; connectRate: Throttle };
  /** Closes every socket (running $disconnect for each) and ends the workers. */
  stop(): Promise<void>;
  stats(): Promise<GatewayStats>;
  /** The id of virtual connection n (0 ≤ n < options.virtualConnections). */
  virtualConnectionId(n: number): string;
  /** Deliveries counted on the virtual connections, over all workers; `reset` zeroes the counts afterwards. */
  virtualDeliveries(options?: { reset?: boolean }): Promise<VirtualDeliveries>;
}

/** How long stop() waits for a worker to finish before killing it. */
const STOP_TIMEOUT_MS = 30_000;

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const workerCount = options.workers ?? DEFAULTS.workers;
  if (!Number.isInteger(workerCount) || workerCount < 1 || workerCount > MAX_WORKERS) {
    throw new RangeError(`workers must be an integer from 1 to ${MAX_WORKERS}, got ${options.workers}`);
  }
  const virtualConnections = options.virtualConnections ?? 0;
  if (!Number.isInteger(virtualConnections) || virtualConnections < 0 || virtualConnections > MAX_VIRTUAL_CONNECTIONS) {
    throw new RangeError(
      `virtualConnections must be an integer from 0 to ${MAX_VIRTUAL_CONNECTIONS}, got ${options.virtualConnections}`,
    );
  }
  const base = {
    workerCount,
    handlers: Object.fromEntries(Object.entries(options.handlers).map(([route, path]) => [route, resolvePath(path)])),
    environments: Object.fromEntries(
      Object.keys(options.handlers).map((route) => [
        route,
        options.routeEnv?.[route as keyof RouteEnvironments] ?? options.env ?? {},
      ]),
    ),
    instancesPerRoute: options.instancesPerRoute ?? DEFAULTS.instancesPerRoute,
    host: options.host ?? DEFAULTS.host,
    stage: options.stage ?? DEFAULTS.stage,
    apiId: options.apiId ?? randomApiId(),
    idleTimeoutMs: options.idleTimeoutMs ?? AWS_LIMITS.idleTimeoutMs,
    maxConnectionMs: options.maxConnectionMs ?? AWS_LIMITS.maxConnectionMs,
    integrationTimeoutMs: options.integrationTimeoutMs ?? AWS_LIMITS.integrationTimeoutMs,
    maxBufferedBytes: options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
    maxBufferedBytesTotal: options.maxBufferedBytesTotal ?? DEFAULTS.maxBufferedBytesTotal,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
    quota: options.quota ?? DEFAULT_QUOTA,
    connectRate: options.connectRate ?? DEFAULT_CONNECT_RATE,
    virtualConnections,
    slowVirtualConnections: options.slowVirtualConnections,
  };
  const workers = Array.from(
    { length: workerCount },
    (_, index) => new WorkerProcess(index, options.handlerOutput ?? 'inherit'),
  );
  let port: number;
  let claim: PortClaim | undefined;
  try {
    const peers = await Promise.all(
      workers.map((w) => w.call('init', { config: { ...base, workerIndex: w.index } satisfies WorkerConfig })),
    );
    // Linked before listening: the first call any worker gets can already draw on the shared throttles.
    await Promise.all(workers.map((w) => w.call('link', { peerAddresses: peers.map((p) => p.peerAddress) })));
    // Only this gateway's workers may share its port (port-claim.ts). A port the kernel picks is new: no one else has it.
    const requested = options.port ?? DEFAULTS.port;
    if (requested !== 0) claim = await claimPort(base.host, requested);
    // The first worker picks the port (when none is given); the others join it.
    port = (await workers[0].call('listen', { port: requested })).port;
    claim ??= await lockPort(base.host, port);
    await Promise.all(workers.slice(1).map((w) => w.call('listen', { port })));
  } catch (error) {
    for (const w of workers) w.kill();
    claim?.release();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  for (const w of workers) {
    void w.exited.then(({ code, signal }) => {
      if (stopping) return;
      console.error(
        `[gateway] worker ${w.index} (pid ${w.pid}) exited unexpectedly (code ${code}, signal ${signal}); its sockets are gone`,
      );
      options.onWorkerExit?.(w.index, code, signal);
    });
  }

  const stop = async (): Promise<void> => {
    const running = workers.filter((w) => w.running);
    await Promise.all(
      running.map(async (w) => {
        const killer = setTimeout(() => w.kill(), STOP_TIMEOUT_MS);
        await w.call('stop', {}).catch(() => undefined); // a worker that dies while stopping is stopped too
        await w.exited;
        clearTimeout(killer);
      }),
    );
    claim?.release();
  };

  const origin = `${base.host}:${port}`;
  return {
    webSocketUrl: `ws://${origin}/${base.stage}`,
    connectionsEndpoint: `http://${origin}/${base.stage}`,
    port,
    throttles: { quota: base.quota, connectRate: base.connectRate },
    stop: () => (stopping ??= stop()),
    stats: async () => {
      const stats = await Promise.all(workers.filter((w) => w.running).map((w) => w.call('stats', {})));
      return { workers: stats, connections: stats.reduce((sum, s) => sum + s.connections, 0) };
    },
    virtualConnectionId: (n) => {
      if (!Number.isInteger(n) || n < 0 || n >= virtualConnections)
        throw new RangeError(`virtual connection ${n} does not exist (0 to ${virtualConnections - 1})`);
      return virtualConnectionId(n, workerCount);
    },
    virtualDeliveries: async ({ reset = false } = {}) => {
      const counts = await Promise.all(
        workers.filter((w) => w.running).map((w) => w.call('virtualDeliveries', { reset })),
      );
      const total: VirtualDeliveries = { connections: 0, delivered: 0, duplicates: 0, posts: 0, full: 0, slow: 0 };
      for (const c of counts) for (const key of Object.keys(total) as (keyof VirtualDeliveries)[]) total[key] += c[key];
      return total;
    },
  };
}

/** API ids are 10 lowercase alphanumerics, e.g. "a1b2c3d4e5". */
function randomApiId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(10), (b) => alphabet[b % alphabet.length]).join('');
}

/**
 * A gateway worker process (forked by index.ts with tsx loaded). It owns the sockets the
 * kernel hands it on the shared port, invokes the route functions (route-handlers.ts), serves the
 * @connections API for any connection (forwarding to the owner when it is another worker)
 * and answers the primary's calls over IPC (worker-protocol.ts).
 */
import http from 'node:http';
import type net from 'node:net';
import { ConnectionIdFactory, workerIndexOf } from './connection-id';
import { ConnectionRegistry } from './connection-registry';
import { SigV4Verifier } from '../sigv4-verifier';
import { managementRequestListener } from './management-api';
import { type ManagementResult, RESULTS } from './management-results';
import type { WorkerConfig } from './options';
import { type ExecuteLocally, type ManagementOp, PeerLink, startPeerServer } from './peer-forwarding';
import { type RouteHandlers, startRouteHandlers, stopRouteHandlers } from './route-handlers';
import { BUCKET_OWNER_WORKER, SharedThrottles } from './shared-throttles';
import { type VirtualDeliveries, VirtualConnections } from './virtual-connections';
import { WebSocketEndpoint } from './websocket-endpoint';
import type { WorkerCalls, WorkerReply, WorkerRequest, WorkerStats } from './worker-protocol';

/** How long stop() lets clients answer the close handshake before cutting their sockets. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Idle keep-alive connections of the @connections API stay open longer than clients keep
 * them (undici 4 s, Node agents 5 s), so a client never reuses a socket the server just closed.
 */
const KEEP_ALIVE_TIMEOUT_MS = 60_000;

/** A @connections call's whole request (128 KB at most) must arrive within this long. */
const REQUEST_TIMEOUT_MS = 30_000;

class GatewayWorker {
  private readonly server: http.Server;
  private calls = 0;
  private forwarded = 0;
  private throttled = 0;

  private constructor(
    private readonly config: WorkerConfig,
    private readonly handlers: RouteHandlers,
    private readonly endpoint: WebSocketEndpoint,
    private readonly registry: ConnectionRegistry,
    private readonly virtual: VirtualConnections | undefined,
    private readonly throttles: SharedThrottles,
    private readonly peerServer: net.Server,
    private readonly links: (PeerLink | undefined)[],
  ) {
    const onRequest = managementRequestListener(
      config.stage,
      this.route,
      new SigV4Verifier({ service: 'execute-api' }),
    );
    this.server = http.createServer(
      {
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        noDelay: true,
        // A handshake (or a call) whose headers do not arrive in time is closed: half-open handshakes are not held.
        headersTimeout: config.handshakeTimeoutMs,
        requestTimeout: Math.max(config.handshakeTimeoutMs, REQUEST_TIMEOUT_MS),
        connectionsCheckingInterval: Math.max(10, Math.min(1_000, config.handshakeTimeoutMs / 4)),
      },
      onRequest,
    );
    this.server.on('upgrade', endpoint.onUpgrade);
  }

  static async start(config: WorkerConfig): Promise<GatewayWorker> {
    const handlers = await startRouteHandlers(
      config.handlers,
      config.environments,
      config.integrationTimeoutMs,
      config.instancesPerRoute,
    );
    const registry = new ConnectionRegistry(config, globalThis.gc);
    const virtual =
      config.virtualConnections > 0
        ? new VirtualConnections(
            config.workerIndex,
            config.workerCount,
            config.virtualConnections,
            config.slowVirtualConnections,
          )
        : undefined;
    const links: (PeerLink | undefined)[] = [];
    const throttles = new SharedThrottles(config, (bucket, stock, want) => {
      const owner = links[BUCKET_OWNER_WORKER];
      return owner ? owner.lease(bucket, config.workerIndex, stock, want) : Promise.reject(new Error('not linked yet'));
    });
    const ids = new ConnectionIdFactory(config.workerIndex);
    const endpoint = new WebSocketEndpoint(
      config,
      handlers,
      registry,
      ids,
      () => throttles.admitHandshake(),
      async () => throttles.admitCall(),
    );
    const execute: ExecuteLocally = (op, id, data) => executeOn(registry, virtual, op, id, data);
    const peerServer = await startPeerServer(peerAddressOf(config), execute, (bucket, worker, stock, want) =>
      throttles.grantLease(bucket, worker, stock, want),
    );
    return new GatewayWorker(config, handlers, endpoint, registry, virtual, throttles, peerServer, links);
  }

  get peerAddress(): string {
    return this.peerServer.address() as string;
  }

  /** Every worker listens on the same port (SO_REUSEPORT): the kernel spreads connections, no process relays them. */
  async listen(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.config.host, port, reusePort: true, backlog: 4096 }, () => resolve());
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' && port !== 0) {
        throw new Error(
          `port ${port} is in use (sharing it between workers needs SO_REUSEPORT: Node >= 22.12, running ${process.version})`,
        );
      }
      throw error;
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  link(peerAddresses: string[]): void {
    peerAddresses.forEach((address, index) => {
      if (index !== this.config.workerIndex) this.links[index] = new PeerLink(address);
    });
    this.throttles.prefetch();
  }

  stats(): WorkerStats {
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    return {
      workerIndex: this.config.workerIndex,
      pid: process.pid,
      connections: this.registry.size,
      ...this.endpoint.counters,
      ...this.registry.counters,
      calls: this.calls,
      throttled: this.throttled,
      forwarded: this.forwarded,
      unsentBytes: this.registry.unsentBytes(),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      rssBytes: memory.rss,
      arrayBuffersBytes: memory.arrayBuffers,
    };
  }

  virtualDeliveries(reset: boolean): VirtualDeliveries {
    return (
      this.virtual?.deliveries(reset) ?? { connections: 0, delivered: 0, duplicates: 0, posts: 0, full: 0, slow: 0 }
    );
  }

  async stop(): Promise<void> {
    this.server.close();
    this.endpoint.beginStop();
    this.registry.stopSweeping();
    await this.registry.closeAll(CLOSE_GRACE_MS);
    await this.endpoint.settle();
    await stopRouteHandlers(this.handlers);
    this.server.closeAllConnections();
    this.peerServer.close();
    for (const link of this.links) link?.close();
  }

  /**
   * The account throttle counts the call where it arrives, as API Gateway's front door does;
   * then the owner is written in the id: run the call here, or forward it to the owning worker.
   */
  private readonly route = (op: ManagementOp, connectionId: string, data: Buffer) => {
    this.calls++;
    const admitted = this.throttles.admitCall();
    if (admitted === true) return this.dispatch(op, connectionId, data);
    if (admitted === false) return this.refuse();
    return admitted.then((ok) => (ok ? this.dispatch(op, connectionId, data) : this.refuse()));
  };

  private refuse(): ManagementResult {
    this.throttled++;
    return RESULTS.limitExceeded;
  }

  private dispatch(op: ManagementOp, connectionId: string, data: Buffer): ManagementResult | Promise<ManagementResult> {
    const owner = workerIndexOf(connectionId);
    if (owner === this.config.workerIndex) return executeOn(this.registry, this.virtual, op, connectionId, data);
    const link = owner === undefined ? undefined : this.links[owner];
    if (!link) return RESULTS.gone; // not an id of this gateway
    this.forwarded++;
    return link.forward(op, connectionId, data);
  }
}

/**
 * Peer links use an abstract Unix socket (Linux: no file to clean up, unreachable from the
 * network, named by this process's pid so it is unique on the machine); a Unix socket
 * costs fewer CPU cycles per forwarded call than loopback TCP.
 */
function peerAddressOf(config: WorkerConfig): string {
  return `\0swarmcast-gateway-${process.pid}-worker-${config.workerIndex}`;
}

function executeOn(
  registry: ConnectionRegistry,
  virtual: VirtualConnections | undefined,
  op: ManagementOp,
  connectionId: string,
  data: Buffer,
) {
  const virtualResult = virtual?.execute(op, connectionId);
  if (virtualResult) return virtualResult;
  switch (op) {
    case 'post':
      return registry.post(connectionId, data);
    case 'describe':
      return registry.describe(connectionId);
    case 'delete':
      return registry.delete(connectionId);
  }
}

let worker: GatewayWorker | undefined;

async function answer(request: WorkerRequest): Promise<WorkerCalls[WorkerRequest['call']]['result']> {
  if (request.call === 'init') {
    worker = await GatewayWorker.start(request.config);
    return { peerAddress: worker.peerAddress };
  }
  if (!worker) throw new Error(`${request.call} before init`);
  switch (request.call) {
    case 'listen':
      return { port: await worker.listen(request.port) };
    case 'link':
      worker.link(request.peerAddresses);
      return null;
    case 'stats':
      return worker.stats();
    case 'virtualDeliveries':
      return worker.virtualDeliveries(request.reset);
    case 'stop':
      await worker.stop();
      return null;
  }
}

function sendReply(reply: WorkerReply, then?: () => void): void {
  process.send?.(reply, undefined, {}, () => then?.());
}

process.on('message', (request: WorkerRequest) => {
  answer(request).then(
    (result) =>
      sendReply({ id: request.id, ok: true, result }, request.call === 'stop' ? () => process.exit(0) : undefined),
    (error: unknown) =>
      sendReply({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});

// A handler's stray rejection would crash a Lambda sandbox, not the whole API: log it and go on.
process.on('unhandledRejection', (reason) => console.error('[gateway] unhandled rejection in a handler:', reason));
// Without the primary nobody can stop this worker: leave with it.
process.on('disconnect', () => process.exit(1));
// Ctrl-C reaches the whole process group; the primary closes the sockets (running $disconnect) first.
process.on('SIGINT', () => {});

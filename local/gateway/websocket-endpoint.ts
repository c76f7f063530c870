/** The WebSocket side of a gateway worker: handshakes, $connect, client messages and closes. */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { type ConnectionIdFactory, randomRequestId } from './connection-id';
import type { ConnectionRegistry, LocalConnection } from './connection-registry';
import { type ConnectionFacts, connectEvent, connectionFactsOf, disconnectEvent, messageEvent } from './lambda-events';
import { authorizeConnect } from './connect-authorizer';
import { FrameSizeWatch } from './frame-size';
import { checkHandshake, selectedSubprotocol } from './handshake';
import { AWS_LIMITS } from './options';
import { selectRoute } from './route-selection';
import { KEEP_ALIVE_ROUTE } from '../../client/protocol';
import {
  type InvocationOutcome,
  type RouteHandler,
  type RouteHandlers,
  responseBodyOf,
  statusCodeOf,
} from './route-handlers';

export interface EndpointCounters {
  connectsAccepted: number;
  connectsRefused: number;
  connectsThrottled: number;
  /** Handshakes refused before anything ran because they were malformed (handshake.ts). */
  handshakesMalformed: number;
  messages: number;
  /** Sockets closed with 1003 for sending a binary frame ($default never ran). */
  binaryRefused: number;
  /** Sockets closed with 1009 for sending a frame over 32 KB ($default never ran for it). */
  framesTooLarge: number;
  /** Client messages over the account throttle, answered "Too Many Requests" ($default never ran). */
  messagesThrottled: number;
  /** Messages that took the keep-alive route: no function ran, nothing was sent back. */
  keepAlives: number;
  disconnects: number;
  /** Handshakes between their arrival and their answer (a gauge, not a count). */
  connectsInFlight: number;
  /** $disconnect invocations started and not yet ended (a gauge). */
  disconnectsInFlight: number;
  /** Clients that left while $connect ran, after it succeeded: $disconnect ran for them instead of an accept. */
  connectsAbandoned: number;
}

/**
 * The WebSocket side of API Gateway: a malformed handshake is refused before anything runs
 * (handshake.ts); a valid one runs $connect before it is answered (a failing or >= 400 result
 * refuses it with that status; the subprotocol is the one $connect returns). A client text
 * message {"action":"ping"} takes the keep-alive route, which runs nothing and answers nothing
 * (the stack's MOCK route); other text messages run $default (a returned body is sent back, like a route response); a binary frame
 * closes the socket with 1003, and a frame over 32 KB with 1009, as API Gateway does. Every close runs $disconnect once, best effort.
 */
export class WebSocketEndpoint {
  readonly counters: EndpointCounters = {
    connectsAccepted: 0,
    connectsRefused: 0,
    connectsThrottled: 0,
    handshakesMalformed: 0,
    messages: 0,
    binaryRefused: 0,
    framesTooLarge: 0,
    messagesThrottled: 0,
    keepAlives: 0,
    disconnects: 0,
    connectsInFlight: 0,
    disconnectsInFlight: 0,
    connectsAbandoned: 0,
  };
  private readonly server = new WebSocketServer({
    noServer: true,
    clientTracking: false, // the registry tracks sockets
    perMessageDeflate: false, // API Gateway does not negotiate compression
    maxPayload: AWS_LIMITS.maxMessageBytes, // larger messages close the socket with 1009, as on AWS
    // The subprotocol $connect selected, or none: ws's default would echo the client's first choice.
    handleProtocols: (_offered, request) => this.subprotocols.get(request) ?? false,
  });
  private readonly subprotocols = new WeakMap<IncomingMessage, string>();
  private readonly disconnectsRunning = new Set<Promise<unknown>>();
  private readonly handshakesRunning = new Set<Promise<unknown>>();
  private stopping = false;
  private readonly acceptedPaths: Set<string>;

  constructor(
    private readonly api: { apiId: string; stage: string },
    private readonly handlers: RouteHandlers,
    private readonly registry: ConnectionRegistry,
    private readonly ids: ConnectionIdFactory,
    /** Takes a handshake's tokens from the shared throttles; false: refuse it with 429. */
    private readonly admitHandshake: () => Promise<boolean> = async () => true,
    /** Takes a client message's token of the account throttle; false: answer "Too Many Requests" and run no route. */
    private readonly admitMessage: () => Promise<boolean> = async () => true,
  ) {
    this.acceptedPaths = new Set(['/', `/${api.stage}`, `/${api.stage}/`]);
  }

  /** The http server's 'upgrade' listener. */
  readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.counters.connectsInFlight++;
    const running = this.connect(request, socket, head).finally(() => {
      this.counters.connectsInFlight--;
      this.handshakesRunning.delete(running);
    });
    this.handshakesRunning.add(running);
  };

  /** From now on a handshake whose $connect ends is refused and its $disconnect run: the gateway is stopping. */
  beginStop(): void {
    this.stopping = true;
  }

  /** Resolves when no handshake is in flight and every $disconnect started, also by those, has ended. */
  async settle(): Promise<void> {
    while (this.disconnectsRunning.size > 0 || this.handshakesRunning.size > 0) {
      await Promise.all([...this.disconnectsRunning, ...this.handshakesRunning]);
    }
  }

  private async connect(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy()); // a client that resets mid-handshake must not crash the worker
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (!this.acceptedPaths.has(url.pathname)) return refuse(socket, 403);
    // A malformed handshake is refused before anything runs: no token taken, no $connect, no row.
    const rejection = checkHandshake(request);
    if (rejection) {
      this.counters.handshakesMalformed++;
      return refuse(socket, rejection.status, JSON.stringify({ message: rejection.message }), rejection.headers);
    }
    // Over the rate API Gateway refuses the handshake itself: $connect never runs, no row is written.
    if (!(await this.admitHandshake())) {
      this.counters.connectsThrottled++;
      return refuse(socket, 429, TOO_MANY_REQUESTS);
    }

    const facts = connectionFactsOf(request, this.ids.next(), this.api);
    let authorized: { context?: Record<string, unknown>; principalId?: string } | undefined;
    if (this.handlers.authorizer) {
      const decision = await authorizeConnect(this.handlers.authorizer, facts, url.searchParams);
      if (!decision.allowed) {
        this.counters.connectsRefused++;
        return refuse(socket, decision.status);
      }
      authorized = decision;
    }
    if (this.handlers.connect) {
      const outcome = await this.handlers.connect.invoke(connectEvent(facts, url.searchParams, authorized));
      const status = integrationStatus(outcome, this.handlers.connect);
      if (status >= 400) {
        this.counters.connectsRefused++;
        return refuse(socket, status);
      }
      const subprotocol = outcome.kind === 'returned' ? selectedSubprotocol(outcome.value) : undefined;
      if (subprotocol) this.subprotocols.set(request, subprotocol);
    }
    if (socket.destroyed || !socket.readable || !socket.writable) {
      // The client left while $connect ran (reset, or closed its side: ws would drop such a socket
      // without a word). On AWS no connection is left: $disconnect removes what $connect wrote.
      this.counters.connectsAbandoned++;
      socket.destroy();
      this.disconnect(facts, 1006, '');
      return;
    }
    if (this.stopping) {
      // The gateway closed every socket while this $connect ran: accepting now would leave a socket and its row behind.
      this.counters.connectsRefused++;
      refuse(socket, 503);
      this.disconnect(facts, 1001, 'Going away');
      return;
    }
    this.server.handleUpgrade(request, socket, head, (ws) => this.accept(ws, socket, facts));
  }

  private accept(socket: WebSocket, stream: Duplex, facts: ConnectionFacts): void {
    this.counters.connectsAccepted++;
    const connection: LocalConnection = { facts, socket, lastActiveAt: Date.now() };
    this.registry.add(connection);
    this.watchFrameSizes(connection, stream);
    socket.on('message', (data: Buffer, isBinary) => void this.onMessage(connection, data, isBinary));
    socket.on('error', () => undefined); // ws follows every error with 'close'
    socket.once('close', (code, reason) => {
      this.registry.forget(facts.connectionId);
      this.disconnect(facts, code, reason.toString());
    });
  }

  /**
   * A frame over 32 KB closes the socket with 1009 as soon as its header arrives. The watch reads
   * the bytes before ws does (ws re-emits the handshake's leftover bytes as 'data', so it sees
   * those too), and the message such a frame ends is dropped by onMessage: the socket is closing.
   */
  private watchFrameSizes(connection: LocalConnection, stream: Duplex): void {
    const watch = new FrameSizeWatch(AWS_LIMITS.maxFrameBytes);
    const onData = (chunk: Buffer) => {
      if (watch.read(chunk) === undefined) return;
      stream.off('data', onData);
      this.counters.framesTooLarge++;
      this.registry.close(connection, MESSAGE_TOO_BIG.code, MESSAGE_TOO_BIG.reason);
    };
    stream.prependListener('data', onData);
  }

  private async onMessage(connection: LocalConnection, data: Buffer, isBinary: boolean): Promise<void> {
    const { facts, socket } = connection;
    // Frames that arrive after the gateway started closing the socket run no route.
    if (socket.readyState !== socket.OPEN) return;
    if (isBinary) {
      // API Gateway takes no binary frames from clients: it closes with 1003 and runs no route.
      this.counters.binaryRefused++;
      this.registry.close(connection, UNSUPPORTED_DATA.code, UNSUPPORTED_DATA.reason);
      return;
    }
    const text = data.toString('utf8');
    // The route is selected as the message arrives, and counted with it: a snapshot of the counters never sees one without the other.
    const route = selectRoute(text);
    const keepAlive = route === KEEP_ALIVE_ROUTE;
    this.counters.messages++;
    if (keepAlive) this.counters.keepAlives++;
    this.registry.touch(connection);
    // A client's message is a request of the account like any other: API Gateway's account throttle covers it.
    if (!(await this.admitMessage())) {
      this.counters.messagesThrottled++;
      return reply(socket, errorMessage('Too Many Requests', facts));
    }
    if (keepAlive) return;
    const handler = route === '$default' ? this.handlers.default : this.handlers.subscriptions;
    if (!handler) return reply(socket, errorMessage('Forbidden', facts));
    const event = messageEvent(facts, text, false, route);
    const outcome = await handler.invoke(event);
    if (outcome.kind === 'returned') {
      const body = responseBodyOf(outcome.value);
      if (body !== undefined) reply(socket, body);
    } else {
      integrationStatus(outcome, handler); // logs the failure
      reply(
        socket,
        errorMessage(outcome.kind === 'timedOut' ? 'Endpoint request timed out' : 'Internal server error', facts),
      );
    }
  }

  private disconnect(facts: ConnectionFacts, code: number, reason: string): void {
    this.counters.disconnects++;
    const handler = this.handlers.disconnect;
    if (!handler) return;
    const running = handler
      .invoke(disconnectEvent(facts, code, reason))
      .then((outcome) => integrationStatus(outcome, handler));
    this.disconnectsRunning.add(running);
    this.counters.disconnectsInFlight++;
    void running.finally(() => {
      this.disconnectsRunning.delete(running);
      this.counters.disconnectsInFlight--;
    });
  }
}

/** The HTTP status API Gateway derives from an invocation; failures are logged like CloudWatch would. */
function integrationStatus(outcome: InvocationOutcome, handler: RouteHandler): number {
  switch (outcome.kind) {
    case 'returned':
      return statusCodeOf(outcome.value);
    case 'failed':
      console.error(`[gateway] ${handler.functionName} failed:`, outcome.error);
      return 502;
    case 'timedOut':
      console.error(`[gateway] ${handler.functionName} timed out (integration timeout)`);
      return 504;
  }
}

/** The body of API Gateway's throttling answer. */
const TOO_MANY_REQUESTS = JSON.stringify({ message: 'Too Many Requests' });

/** The close API Gateway sends a client that sent a binary frame (websocket-api-develop-binary-media-types). */
const UNSUPPORTED_DATA = { code: 1003, reason: 'Binary frames are not supported' } as const;

/** The close API Gateway sends a client whose frame is over 32 KB (its reason as clients report it). */
const MESSAGE_TOO_BIG = { code: 1009, reason: 'Message too big' } as const;

function refuse(socket: Duplex, status: number, body = '', headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const type = body ? 'Content-Type: application/json\r\n' : '';
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\n${extra}${type}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function reply(socket: WebSocket, text: string): void {
  if (socket.readyState === socket.OPEN) socket.send(text);
}

/** The error message API Gateway sends to the client when a route fails. */
function errorMessage(message: string, facts: ConnectionFacts): string {
  return JSON.stringify({ message, connectionId: facts.connectionId, requestId: randomRequestId() });
}

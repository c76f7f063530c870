/**
 * A WebSocket client for swarmcast's API that follows the rules a million clients must follow:
 * a keep-alive `{"action":"ping"}` every ~9 minutes with jitter (API Gateway answers it itself:
 * no Lambda, no reply), reconnects after a failure with jittered exponential backoff, a planned
 * reconnect at a random time in [100, 115] minutes (before API Gateway's 2-hour close, and
 * spread out), and a broadcast already seen by its id (the broadcast-id envelope) dropped.
 *
 * Given a fleet instead of one URL, it ranks the cells by its key (client/fleet.ts rankCells) and
 * connects to its first choice; a cell that refuses the handshake (429 over its connect quota) or
 * is down sends it on to the next cell of its ranking, and every planned reconnect starts again
 * from its first choice, so the clients a failover moved drift back within one socket lifetime.
 *
 * It runs in browsers and in Node: it takes the WebSocket constructor (the browser's or Node 22's
 * global `WebSocket`, or `ws`), imports nothing but client/protocol.ts and client/fleet.ts, and
 * uses only the standard `onopen` / `onmessage` / `onclose` properties.
 *
 * ```ts
 * const client = new SwarmcastClient({ url, WebSocket, onMessage: (text, broadcastId) => show(text) });
 * // or: new SwarmcastClient({ fleet: parseFleet(fleetJson), clientKey: userId, WebSocket, onMessage })
 * client.start();
 * // ... client.close() when done: no more reconnects.
 * ```
 */
import { type Fleet, type FleetCell, rankCells } from './fleet';
import {
  between,
  envelopeOf,
  KEEP_ALIVE_INTERVAL_MS,
  KEEP_ALIVE_MESSAGE,
  RECONNECT_BACKOFF_MS,
  RECYCLE_AFTER_MS,
} from './protocol';

/** What the client needs of a WebSocket: the browser's, Node 22's global, and `ws` all have it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** A socket's readyState when open (the WebSocket standard's OPEN). */
const OPEN = 1;
/** The close code and reason of a planned reconnect: the server sees an orderly goodbye. */
const RECYCLED = { code: 1000, reason: 'reconnecting before the 2-hour limit' };

export interface SwarmcastClientTiming {
  /** Between keep-alives, counted from the last message the client sent (default 8.5–9.5 min). */
  keepAliveMs: { min: number; max: number };
  /** From open to the planned reconnect (default 100–115 min). */
  recycleAfterMs: { min: number; max: number };
  /** Reconnect backoff: the n-th retry waits uniformly up to min(cap, base × 2^n) (default 1 s, 60 s). */
  backoffMs: { base: number; cap: number };
}

/** Give `url` (one stack) or `fleet` (its cells), not both. */
export interface SwarmcastClientOptions {
  /** The stack's WebSocketUrl; a function is called before every connect (a fresh `?token=`, say). */
  url?: string | (() => string);
  /** The cells to spread over instead (client/fleet.ts parseFleet reads a fleet file). */
  fleet?: Fleet;
  /** With a fleet, what ranks the cells for this client: a stable id (a user's or a device's) keeps it on the same cell across page loads (default: random per client). */
  clientKey?: string;
  /** With a fleet, the URL to open for a cell, called before every connect (add a fresh `?token=` here; default the cell's url). */
  urlFor?: (cell: FleetCell) => string;
  WebSocket: WebSocketConstructor;
  /** Each broadcast once: the message, and its id when the stack frames broadcasts in the envelope. */
  onMessage: (message: string, broadcastId?: string) => void;
  /** A socket opened (the first, or a reconnect); with a fleet, on this cell. */
  onOpen?: (event: { cell?: FleetCell }) => void;
  /** The open socket was closed by the other side or the network; the client reconnects after `reconnectInMs`. */
  onClose?: (event: { code: number; reason: string; reconnectInMs: number }) => void;
  /** Broadcast ids remembered for dropping repeats (default 1,000; repeats arrive within minutes). */
  rememberIds?: number;
  /** Only for a gateway with other timeouts than API Gateway's (the local stack's shortened ones in tests). */
  timing?: Partial<SwarmcastClientTiming>;
  /** Math.random unless a test fixes it. */
  random?: () => number;
}

/** Options the client cannot run with: the message says which and what is allowed. */
export class SwarmcastClientOptionsError extends Error {
  override name = 'SwarmcastClientOptionsError';
}

/** Where a socket can go: the one stack, or a fleet's cells in this client's order of preference. */
interface Target {
  cell?: FleetCell;
  url: () => string;
}

export class SwarmcastClient {
  /** Broadcasts dropped because their id was seen already. */
  repeatsDropped = 0;
  private socket?: WebSocketLike;
  /** The planned reconnect's socket while it opens; the old one keeps receiving until it does. */
  private replacement?: WebSocketLike;
  private failures = 0;
  private stopped = true;
  private keepAliveTimer?: ReturnType<typeof setTimeout>;
  private recycleTimer?: ReturnType<typeof setTimeout>;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private readonly seen = new Set<string>();
  private readonly timing: SwarmcastClientTiming;
  private readonly random: () => number;
  private readonly targets: Target[];
  /** The target each socket was opened to. */
  private readonly targetOf = new WeakMap<WebSocketLike, number>();
  /** Where the next socket goes, an index into targets: the cell of the last socket opened, unless its handshake failed. */
  private next = 0;

  constructor(private readonly options: SwarmcastClientOptions) {
    this.timing = {
      keepAliveMs: KEEP_ALIVE_INTERVAL_MS,
      recycleAfterMs: RECYCLE_AFTER_MS,
      backoffMs: RECONNECT_BACKOFF_MS,
      ...options.timing,
    };
    this.random = options.random ?? Math.random;
    this.targets = targetsOf(options, this.random);
  }

  /** The fleet cell the open socket is connected to (undefined with one URL, or while no socket is open). */
  get cell(): FleetCell | undefined {
    return this.socket ? this.targets[this.targetOf.get(this.socket)!].cell : undefined;
  }

  /** Connects, and keeps connecting until close(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  /** Sends a message of the application's own (it counts as traffic: the next keep-alive waits). False if no socket is open. */
  send(data: string): boolean {
    if (this.socket?.readyState !== OPEN) return false;
    this.socket.send(data);
    this.scheduleKeepAlive();
    return true;
  }

  /** Closes for good: no reconnect, no timer left. */
  close(code = 1000, reason = ''): void {
    this.stopped = true;
    for (const timer of [this.keepAliveTimer, this.recycleTimer, this.reconnectTimer]) clearTimeout(timer);
    for (const socket of [this.socket, this.replacement]) {
      if (!socket) continue;
      detach(socket);
      socket.onmessage = null;
      socket.close(code, reason);
    }
    this.socket = this.replacement = undefined;
  }

  private open(): WebSocketLike {
    const target = this.next;
    const socket = new this.options.WebSocket(this.targets[target].url());
    this.targetOf.set(socket, target);
    socket.onopen = () => this.adopt(socket);
    socket.onclose = (event) => this.lost(socket, event);
    socket.onmessage = (event) => this.receive(event.data);
    // Every error is followed by a close, which decides what happens next.
    socket.onerror = () => undefined;
    return socket;
  }

  /** An opened socket becomes the client's; the one it replaces (a planned reconnect) is closed. */
  private adopt(socket: WebSocketLike): void {
    const previous = this.socket;
    this.socket = socket;
    this.replacement = undefined;
    this.failures = 0;
    if (previous) {
      // Its last messages may still arrive while it closes: the envelope ids drop any repeat.
      detach(previous);
      previous.close(RECYCLED.code, RECYCLED.reason);
    }
    this.scheduleKeepAlive();
    clearTimeout(this.recycleTimer);
    this.recycleTimer = setTimeout(
      () => {
        // The planned reconnect tries the first choice again: a client a failover moved returns.
        this.next = 0;
        this.recycle();
      },
      between(this.timing.recycleAfterMs, this.random),
    );
    this.options.onOpen?.({ cell: this.cell });
  }

  /** A socket closed that we did not close: retry after the backoff, unless a replacement is already on its way. */
  private lost(socket: WebSocketLike, event: { code: number; reason: string }): void {
    detach(socket);
    if (socket !== this.socket) {
      // It never opened: the cell refused the handshake (429) or is down, so the next try goes to the next cell.
      this.next = (this.targetOf.get(socket)! + 1) % this.targets.length;
    }
    if (socket === this.replacement) {
      // The planned reconnect failed; the current socket still serves, so try again after the backoff.
      this.replacement = undefined;
      this.recycleTimer = setTimeout(() => this.recycle(), this.backoff());
      return;
    }
    const wasOpen = socket === this.socket;
    this.socket = undefined;
    clearTimeout(this.keepAliveTimer);
    clearTimeout(this.recycleTimer);
    // A replacement on its way takes over when it opens (or, failing, retries as above).
    const delay = this.replacement ? 0 : this.backoff();
    if (wasOpen) this.options.onClose?.({ code: event.code, reason: event.reason, reconnectInMs: delay });
    if (!this.replacement) this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  /** The planned reconnect: a second socket first, the current one closes once it is open (adopt). */
  private recycle(): void {
    if (this.stopped || this.replacement) return;
    this.replacement = this.open();
  }

  private backoff(): number {
    const ceiling = Math.min(this.timing.backoffMs.cap, this.timing.backoffMs.base * 2 ** this.failures);
    this.failures++;
    return this.random() * ceiling;
  }

  private scheduleKeepAlive(): void {
    clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = setTimeout(
      () => {
        if (this.socket?.readyState === OPEN) this.socket.send(KEEP_ALIVE_MESSAGE);
        this.scheduleKeepAlive();
      },
      between(this.timing.keepAliveMs, this.random),
    );
  }

  private receive(data: unknown): void {
    const text = typeof data === 'string' ? data : String(data);
    const envelope = envelopeOf(text);
    if (!envelope) {
      this.options.onMessage(text);
      return;
    }
    if (this.seen.has(envelope.broadcastId)) {
      this.repeatsDropped++;
      return;
    }
    this.remember(envelope.broadcastId);
    this.options.onMessage(envelope.message, envelope.broadcastId);
  }

  /** A Set iterates in insertion order: the first entry is the oldest id. */
  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > (this.options.rememberIds ?? 1_000)) this.seen.delete(this.seen.values().next().value!);
  }
}

function targetsOf(options: SwarmcastClientOptions, random: () => number): Target[] {
  if (options.fleet && options.url === undefined) {
    const key = options.clientKey ?? Math.floor(random() * 2 ** 53).toString(36);
    if (typeof key !== 'string' || key === '')
      throw new SwarmcastClientOptionsError(`clientKey must be a non-empty string, got ${JSON.stringify(key)}`);
    const urlFor = options.urlFor;
    return rankCells(options.fleet, key).map((cell) => ({ cell, url: () => (urlFor ? urlFor(cell) : cell.url) }));
  }
  const url = options.url;
  if (options.fleet || (typeof url !== 'string' && typeof url !== 'function'))
    throw new SwarmcastClientOptionsError(
      "give either url (one stack's WebSocketUrl, or a function returning it) or fleet (client/fleet.ts parseFleet), not both or neither",
    );
  return [{ url: typeof url === 'function' ? url : () => url }];
}

function detach(socket: WebSocketLike): void {
  socket.onopen = socket.onclose = null;
}

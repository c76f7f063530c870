/**
 * The fault matrix's WebSocket clients, in the case's own process: real sockets on loopback,
 * tracked one by one, because a case's verdict needs per-socket facts the swarm of
 * local/clients aggregates away — which sockets were connected when the broadcast started and
 * are still open at the end, and whether each of those got the message. It also does to its
 * sockets what the cases need: vanish abruptly, stop reading, churn.
 */
import WebSocket from 'ws';

/** Full-jitter backoff between refused handshakes (429 over the connect rate, 5xx), as AWS's SDKs retry. */
const RETRY_BASE_MS = 100;
const RETRY_CAP_MS = 5_000;
/** Handshakes in flight while connecting the initial clients. */
const HANDSHAKES_IN_FLIGHT = 100;

interface Client {
  socket: WebSocket;
  /** Connected when the broadcast started: it must get the message if it is still open at the end. */
  expected: boolean;
  /** Copies of the watched message received. */
  copies: number;
  open: boolean;
}

export interface ClientsReport {
  /** Expected clients still open. */
  alive: number;
  /** Of those, how many got the message at least once. */
  delivered: number;
  /** Extra copies over every client, open or not, expected or not. */
  duplicates: number;
  /** Every open socket (joined late included): what the connection rows should count. */
  open: number;
}

export class FaultClients {
  private readonly clients: Client[] = [];
  private marker = '';
  private received = 0;

  private constructor(private readonly url: string) {}

  /** Opens `count` sockets, each retrying a refused handshake until `deadline` (ms since epoch); throws if any could not. */
  static async connect(url: string, count: number, deadline: number): Promise<FaultClients> {
    const clients = new FaultClients(url);
    let next = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        await clients.openOne(deadline);
      }
    };
    await Promise.all(Array.from({ length: Math.min(HANDSHAKES_IN_FLIGHT, count) }, worker));
    return clients;
  }

  /** Opens one more socket (retrying until `deadline`); it joined after the start, so no message is owed to it. */
  async openOne(deadline: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await attemptOpen(this.url);
      if ('socket' in outcome) return this.keep(outcome.socket);
      if (!outcome.retryable || Date.now() >= deadline) throw new Error(`a client could not connect: ${outcome.error}`);
      await sleep(
        Math.min(
          Math.random() * Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt),
          Math.max(0, deadline - Date.now()),
        ),
      );
    }
  }

  /** From now on counts copies of messages containing `marker`; the sockets open now are the ones owed it. */
  watch(marker: string): void {
    this.marker = marker;
    this.received = 0;
    for (const client of this.clients) {
      client.copies = 0;
      client.expected = client.open;
    }
  }

  /** Expected clients that got the watched message, open or not. */
  get receivedCount(): number {
    return this.received;
  }

  get expectedCount(): number {
    return this.clients.filter((client) => client.expected).length;
  }

  /** Destroys `count` expected sockets without a close frame, like phones losing signal. */
  vanish(count: number): void {
    for (const client of this.pick(count, (c) => c.open && c.expected)) {
      client.open = false;
      client.socket.terminate();
    }
  }

  /** Closes `count` open sockets politely, chosen at random among all of them. */
  closeRandom(count: number): void {
    for (const client of this.pick(count, (c) => c.open, true)) {
      client.open = false;
      client.socket.close(1000);
    }
  }

  /** Stops reading from `count` expected sockets (the kernel's buffers fill, then the gateway's); returns them to resume. */
  stopReading(count: number): WebSocket[] {
    const sockets = this.pick(count, (c) => c.open && c.expected).map((client) => client.socket);
    for (const socket of sockets) socket.pause();
    return sockets;
  }

  report(): ClientsReport {
    const alive = this.clients.filter((client) => client.expected && client.open);
    return {
      alive: alive.length,
      delivered: alive.filter((client) => client.copies > 0).length,
      duplicates: this.clients.reduce((sum, client) => sum + Math.max(0, client.copies - 1), 0),
      open: this.clients.filter((client) => client.open).length,
    };
  }

  async closeAll(): Promise<void> {
    await Promise.all(
      this.clients.map(
        (client) =>
          new Promise<void>((resolve) => {
            if (client.socket.readyState === WebSocket.CLOSED) return resolve();
            client.socket.once('close', () => resolve());
            client.socket.terminate();
          }),
      ),
    );
  }

  private keep(socket: WebSocket): void {
    const client: Client = { socket, expected: false, copies: 0, open: true };
    this.clients.push(client);
    socket.on('message', (data) => {
      if (!this.marker || !data.toString().includes(this.marker)) return;
      client.copies++;
      if (client.copies === 1 && client.expected) this.received++;
    });
    socket.on('error', () => undefined); // ws follows every error with 'close'
    socket.once('close', () => {
      client.open = false;
    });
  }

  private pick(count: number, eligible: (client: Client) => boolean, random = false): Client[] {
    const candidates = this.clients.filter(eligible);
    if (random) {
      for (let i = candidates.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
      }
    }
    return candidates.slice(0, count);
  }
}

type Attempt = { socket: WebSocket } | { error: string; retryable: boolean };

function attemptOpen(url: string): Promise<Attempt> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 60_000 });
    socket.once('open', () => resolve({ socket }));
    socket.once('error', (error) => {
      // ws reports a refused handshake as "Unexpected server response: <status>".
      const status = Number(/Unexpected server response: (\d+)/.exec(error.message)?.[1] ?? 0);
      resolve({ error: error.message, retryable: status === 0 || status === 429 || status >= 500 });
    });
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

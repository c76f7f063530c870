/**
 * One client process of the local swarm: opens `count` real WebSocket connections from one
 * loopback source address (one process holds at most ~20,000 sockets here) and records,
 * per socket, when messages carrying the watched marker arrive. Like real clients (and the
 * client helper, client/swarmcast-client.ts), a refused handshake is retried after a jittered
 * backoff, until a deadline, and an open socket sends the keep-alive {"action":"ping"} at a
 * jittered interval after the last thing it sent, so the gateway's idle timeout never closes
 * it (a large swarm connects for longer than that timeout). Unlike the helper it keeps every
 * repeat: the demo counts duplicates. Driven over IPC by ClientSwarm (local/clients/swarm.ts).
 */
import WebSocket from 'ws';
import { between, KEEP_ALIVE_MESSAGE } from '../../client/protocol';
import type { ClientProcessCommand, ClientProcessReport } from './protocol';

const sockets: WebSocket[] = [];
/** Per socket: arrival times (ms since epoch) of messages containing the marker. */
let arrivals: number[][] = [];
/** Per socket: when (ms since epoch) its next keep-alive is due. */
let nextPingAt: number[] = [];
/** Between a socket's keep-alives (set by the connect command). */
let keepAliveRange = { min: 0, max: 0 };
let marker = '';
let closedByServer = 0;
/** How often the keep-alive check runs, as a fraction of the keep-alive interval. */
const KEEP_ALIVE_CHECKS_PER_INTERVAL = 10;
/** Progress reports while connecting. */
const PROGRESS_EVERY_MS = 1_000;

const send = (message: ClientProcessReport) => process.send?.(message);

/**
 * Backoff between failed handshakes (429 over the connect rate, 5xx, network errors): "full
 * jitter" over an exponential ceiling, as AWS's own SDKs and the client helper retry, so refused
 * clients spread out instead of returning in waves. Shorter than the helper's (1 s to 60 s): the
 * demo's clients all start at once against the emulated connect rate, and a minute's wait would
 * only stretch the demo.
 */
const RETRY_BASE_MS = 100;
const RETRY_CAP_MS = 5_000;
/** A handshake unanswered this long is abandoned and retried: above API Gateway's 29 s integration timeout. */
const HANDSHAKE_TIMEOUT_MS = 60_000;

/** What one handshake attempt ended with: an open socket, or the error and whether a retry may help. */
type Attempt = { socket: WebSocket } | { error: string; retryable: boolean };

function attemptOpen(url: string, localAddress: string): Promise<Attempt> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, {
      localAddress,
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    socket.once('open', () => resolve({ socket }));
    socket.once('error', (error) => {
      // ws reports a refused handshake as "Unexpected server response: <status>".
      const status = Number(/Unexpected server response: (\d+)/.exec(error.message)?.[1] ?? 0);
      resolve({ error: error.message, retryable: status === 0 || status === 429 || status >= 500 });
    });
  });
}

async function connect(
  url: string,
  count: number,
  localAddress: string,
  concurrency: number,
  deadline: number,
  keepAliveMs: { min: number; max: number },
): Promise<void> {
  let next = 0;
  let failed = 0;
  let retries = 0;
  let firstError = '';
  const openOne = async (index: number) => {
    arrivals[index] = [];
    for (let attempt = 0; ; attempt++) {
      const outcome = await attemptOpen(url, localAddress);
      if ('socket' in outcome) return keep(index, outcome.socket);
      if (!outcome.retryable || Date.now() >= deadline) {
        failed++;
        firstError ||= outcome.error;
        return;
      }
      retries++;
      const delayMs = Math.random() * Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, Math.max(0, deadline - Date.now()))));
    }
  };
  const worker = async () => {
    while (next < count) await openOne(next++);
  };
  arrivals = new Array(count);
  nextPingAt = new Array(count);
  keepAlive(keepAliveMs);
  const progress = setInterval(
    () => send({ type: 'connecting', open: openCount(), closedByServer }),
    PROGRESS_EVERY_MS,
  );
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  clearInterval(progress);
  send({ type: 'connected', open: sockets.filter(Boolean).length, failed, retries, firstError });
}

const openCount = () => sockets.filter((s) => s && s.readyState === WebSocket.OPEN).length;

/** One timer for all sockets: each sends the keep-alive when its jittered time since its last one has passed (the keep-alive route: no Lambda, no reply). */
function keepAlive(keepAliveMs: { min: number; max: number }): void {
  keepAliveRange = keepAliveMs;
  const timer = setInterval(
    () => {
      const now = Date.now();
      sockets.forEach((socket, index) => {
        if (!socket || socket.readyState !== WebSocket.OPEN || now < nextPingAt[index]) return;
        socket.send(KEEP_ALIVE_MESSAGE);
        nextPingAt[index] = now + between(keepAliveMs);
      });
    },
    Math.max(10, keepAliveMs.min / KEEP_ALIVE_CHECKS_PER_INTERVAL),
  );
  timer.unref();
}

function keep(index: number, socket: WebSocket): void {
  sockets[index] = socket;
  nextPingAt[index] = Date.now() + between(keepAliveRange);
  socket.on('message', (data) => {
    if (marker && data.toString().includes(marker)) arrivals[index].push(Date.now());
  });
  socket.on('error', () => undefined); // ws follows every error with 'close'
  socket.once('close', () => {
    if (sockets[index] === socket) closedByServer++;
  });
}

function report(): void {
  const counts = arrivals.map((times) => times.length);
  send({
    type: 'report',
    open: openCount(),
    received: counts.filter((n) => n >= 1).length,
    duplicates: counts.reduce((sum, n) => sum + Math.max(0, n - 1), 0),
    firstArrivals: arrivals.filter((t) => t.length > 0).map((t) => t[0]),
    closedByServer,
  });
}

function closeAll(abruptCount: number): void {
  // "Abrupt" sockets are destroyed without a close frame, like a phone losing signal;
  // the rest close politely.
  sockets.forEach((socket, index) => {
    if (!socket) return;
    sockets[index] = undefined as unknown as WebSocket;
    if (index < abruptCount) socket.terminate();
    else socket.close(1000);
  });
  send({ type: 'closed' });
}

process.on('message', (command: ClientProcessCommand) => {
  switch (command.type) {
    case 'connect':
      void connect(
        command.url,
        command.count,
        command.localAddress,
        command.concurrency,
        command.deadline,
        command.keepAliveMs,
      );
      break;
    case 'watch':
      marker = command.marker;
      arrivals = arrivals.map(() => []);
      send({ type: 'watching' });
      break;
    case 'report':
      report();
      break;
    case 'close':
      closeAll(command.abrupt ?? 0);
      break;
  }
});
process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group; the swarm closes its sockets first.
process.on('SIGINT', () => {});

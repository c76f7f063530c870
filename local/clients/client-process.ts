/**
 * One client process of the local swarm: opens `count` real WebSocket connections from one
 * loopback source address (one process holds at most ~20,000 sockets here) and records,
 * per socket, when messages carrying the watched marker arrive. Driven over IPC by
 * ClientSwarm (local/clients/swarm.ts).
 */
import WebSocket from 'ws';
import type { ClientProcessCommand, ClientProcessReport } from './protocol';

const sockets: WebSocket[] = [];
/** Per socket: arrival times (ms since epoch) of messages containing the marker. */
let arrivals: number[][] = [];
let marker = '';
let closedByServer = 0;

const send = (message: ClientProcessReport) => process.send?.(message);

async function connect(url: string, count: number, localAddress: string, concurrency: number): Promise<void> {
  let next = 0;
  let failed = 0;
  let firstError = '';
  const openOne = (index: number) =>
    new Promise<void>((resolve) => {
      const socket = new WebSocket(url, { localAddress, perMessageDeflate: false });
      arrivals[index] = [];
      socket.on('message', (data) => {
        if (marker && data.toString().includes(marker)) arrivals[index].push(Date.now());
      });
      socket.once('open', () => {
        sockets[index] = socket;
        resolve();
      });
      socket.once('close', () => {
        if (sockets[index] === socket) closedByServer++;
      });
      socket.once('error', (error) => {
        failed++;
        firstError ||= error.message;
        resolve();
      });
    });
  const worker = async () => {
    while (next < count) await openOne(next++);
  };
  arrivals = new Array(count);
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  send({ type: 'connected', open: sockets.filter(Boolean).length, failed, firstError });
}

function report(): void {
  const counts = arrivals.map((times) => times.length);
  send({
    type: 'report',
    open: sockets.filter((s) => s && s.readyState === WebSocket.OPEN).length,
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
      void connect(command.url, command.count, command.localAddress, command.concurrency);
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

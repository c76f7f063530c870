/**
 * Runs a local AWS emulator (dynalite, local-aws-sqs) as a child process, so its CPU stays
 * off the event loop of the rest of the local stack: on 2 cores the gateway and handlers
 * get one core and the emulators the other. The child entry listens on 127.0.0.1:0 and
 * reports its port over IPC; it exits when told to, or when the parent goes away.
 *
 * Generic (nothing DynamoDB-specific): local/sqs uses it too.
 */
import type { ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import { forkTypeScript } from './fork-typescript';

export interface ChildServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** Asks the child to close its server (flushing any on-disk store) and waits for it to exit. */
  stop(): Promise<void>;
  /** Settles, with how it ended ("exited with SIGKILL"), if the child ends without being asked to. */
  died: Promise<string>;
  /** The child's process id. */
  pid: number;
}

/** What a child entry sends once it listens. */
export interface ListeningMessage {
  port: number;
}

export class ChildServerError extends Error {
  override name = 'ChildServerError';
}

export async function forkServer(entryFile: string, options: unknown): Promise<ChildServer> {
  const child = forkTypeScript(entryFile, [JSON.stringify(options)]);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await waitForPort(child, entryFile);
  let stopping = false;
  // Requests would fail with ECONNREFUSED and nothing else: the owner says which emulator died, and what follows.
  const died = new Promise<string>((resolve) => child.once('exit', (code, signal) => stopping || resolve(`exited with ${signal ?? `code ${code}`}`)));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    died,
    pid: child.pid!,
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function waitForPort(child: ChildProcess, entryFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => {
      child.kill('SIGKILL');
      reject(new ChildServerError(`${entryFile} did not start: ${reason}`));
    };
    child.once('message', (message: ListeningMessage) => resolve(message.port));
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited with ${signal ?? code}`));
  });
}

/** How long an idle keep-alive connection of a local service stays open. */
export const KEEP_ALIVE_TIMEOUT_MS = 60_000;

/** The child side: listen on `port` (0: any free one; unless already listening), report the port, close on SIGTERM or when the parent is gone. */
export function serveFromChild(server: Server, port = 0): void {
  const reportPort = () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new ChildServerError('server has no TCP address');
    process.send!({ port: address.port } satisfies ListeningMessage);
  };
  // Idle keep-alive sockets stay open longer than clients keep them (Node agents 5 s, undici 4 s):
  // at Node's default of 5 s a loaded machine lets a client reuse a socket the server is closing (ECONNRESET).
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  if (server.listening) reportPort();
  else server.listen(port, '127.0.0.1', reportPort);

  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    server.close(() => process.exit(0));
    // Keep-alive sockets of clients that were not destroyed must not hold the exit.
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1_000).unref();
  };
  process.on('SIGTERM', close);
  process.on('disconnect', close);
  // Ctrl-C reaches the whole process group; the parent decides when this child stops.
  process.on('SIGINT', () => {});
}

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
import { errorLine } from './repeated-errors';

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

/** What a child entry sends when an error it did not handle ends it: the one line that says why. */
export interface FatalMessage {
  fatal: string;
}

/** A full disk is named as such: the error itself says only "IO error: …" deep in a path. */
const DISK_FULL = /ENOSPC|no space left on device/i;

/** How a child ended unasked, with the error that ended it when it said, and the disk when that was the cause. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null, fatal: string | undefined): string {
  const how = `exited with ${signal ?? `code ${code}`}`;
  if (!fatal) return how;
  return `${how} after ${fatal}${DISK_FULL.test(fatal) ? ' — the disk is full (ENOSPC): free space on it, or give --data a folder on another disk' : ''}`;
}

export class ChildServerError extends Error {
  override name = 'ChildServerError';
}

export async function forkServer(entryFile: string, options: unknown): Promise<ChildServer> {
  const child = forkTypeScript(entryFile, [JSON.stringify(options)]);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let fatal: string | undefined;
  child.on('message', (message: Partial<FatalMessage>) => {
    if (typeof message?.fatal === 'string') fatal = message.fatal;
  });
  const port = await waitForPort(child, entryFile);
  let stopping = false;
  // Requests would fail with ECONNREFUSED and nothing else: the owner says which emulator died, and what follows.
  const died = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => stopping || resolve(describeExit(code, signal, fatal))),
  );
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
    const onMessage = (message: Partial<ListeningMessage>) => {
      if (typeof message?.port !== 'number') return;
      child.off('message', onMessage);
      resolve(message.port);
    };
    child.on('message', onMessage);
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
  // An error nobody handled (dynalite throws LevelDB's write errors, "No space left on device"
  // among them): its trace once here, its one line to the parent, which names it in the stop line.
  process.on('uncaughtException', (error) => {
    console.error(error);
    if (!process.connected) process.exit(1);
    process.send!({ fatal: errorLine(error) } satisfies FatalMessage, undefined, {}, () => process.exit(1));
  });
}

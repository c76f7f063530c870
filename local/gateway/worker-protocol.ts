import type { WorkerConfig } from './options';

/** Requests the primary sends a worker over IPC, and what each one answers. */
export interface WorkerCalls {
  /** Load the handlers and open the peer-forwarding socket. */
  init: { args: { config: WorkerConfig }; result: { peerAddress: string } };
  /** Listen on the shared public port (0 = pick one: only the first worker does). */
  listen: { args: { port: number }; result: { port: number } };
  /** Connect to the other workers' peer sockets (index = worker index). */
  link: { args: { peerAddresses: string[] }; result: null };
  stats: { args: Record<string, never>; result: WorkerStats };
  /** Close every socket (running $disconnect), then exit. */
  stop: { args: Record<string, never>; result: null };
}

export type WorkerCallName = keyof WorkerCalls;
export type WorkerRequest = { [K in WorkerCallName]: { id: number; call: K } & WorkerCalls[K]['args'] }[WorkerCallName];
export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface WorkerStats {
  workerIndex: number;
  pid: number;
  /** Open sockets owned by this worker. */
  connections: number;
  connectsAccepted: number;
  connectsRefused: number;
  messages: number;
  disconnects: number;
  /** Posts written to this worker's sockets (whichever worker received the HTTP call). */
  posts: number;
  gone: number;
  limitExceeded: number;
  deleted: number;
  timedOut: number;
  /** @connections calls this worker received for another worker's socket and forwarded. */
  forwarded: number;
  /** CPU time (user + system) this worker process has used, for measuring the cost per post. */
  cpuMs: number;
}

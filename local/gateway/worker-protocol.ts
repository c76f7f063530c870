/** The IPC between the gateway's primary process and its workers, typed on both sides. */
import type { WorkerConfig } from './options';
import type { VirtualDeliveries } from './virtual-connections';

/** Requests the primary sends a worker over IPC, and what each one answers. */
export interface WorkerCalls {
  /** Load the handlers and open the peer-forwarding socket. */
  init: { args: { config: WorkerConfig }; result: { peerAddress: string } };
  /** Listen on the shared public port (0 = pick one: only the first worker does). */
  listen: { args: { port: number }; result: { port: number } };
  /** Connect to the other workers' peer sockets (index = worker index). */
  link: { args: { peerAddresses: string[] }; result: null };
  stats: { args: Record<string, never>; result: WorkerStats };
  /** Deliveries counted on this worker's virtual connections; `reset` zeroes them after reading. */
  virtualDeliveries: { args: { reset: boolean }; result: VirtualDeliveries };
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
  /** Handshakes refused with 429 over the new-connection rate or the account throttle. */
  connectsThrottled: number;
  /** Handshakes refused as malformed before anything ran (no throttle token, no $connect). */
  handshakesMalformed: number;
  messages: number;
  /** Sockets closed with 1003 for sending a binary frame. */
  binaryRefused: number;
  /** Sockets closed with 1009 for sending a frame over 32 KB. */
  framesTooLarge: number;
  /** Client messages over the account throttle, answered "Too Many Requests". */
  messagesThrottled: number;
  /** Client messages that took the keep-alive route ({"action":"ping"}): no function ran, nothing was sent back. */
  keepAlives: number;
  disconnects: number;
  /** Handshakes not yet answered, and $disconnect invocations not yet ended (gauges). */
  connectsInFlight: number;
  disconnectsInFlight: number;
  /** Clients that left while $connect ran; $disconnect ran for them. */
  connectsAbandoned: number;
  /** Posts written to this worker's sockets (whichever worker received the HTTP call). */
  posts: number;
  gone: number;
  /** Posts answered 429 because the socket's unsent bytes, or all sockets' together, were at their bound. */
  limitExceeded: number;
  /** Of limitExceeded, those refused for the worker-wide bound. */
  limitExceededTotal: number;
  /** Posts sent as a binary frame because the data was not UTF-8. */
  postsBinary: number;
  /** Bytes posted and not yet written to the sockets, over this worker's sockets. */
  unsentBytes: number;
  /** @connections calls this worker received over HTTP (whoever owns the connection). */
  calls: number;
  /** @connections calls this worker received and answered 429 over the account throttle. */
  throttled: number;
  deleted: number;
  timedOut: number;
  /** @connections calls this worker received for another worker's socket and forwarded. */
  forwarded: number;
  /** CPU time (user + system) this worker process has used, for measuring the cost per post. */
  cpuMs: number;
  /** Resident memory of this worker process, for the memory each socket costs. */
  rssBytes: number;
  /** Memory of this worker's Buffers (messages in flight or not yet collected). */
  arrayBuffersBytes: number;
  /** Garbage collections run because a large backlog of unsent bytes had drained. */
  memoryReleases: number;
}

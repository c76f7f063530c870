/** IPC between ClientSwarm and its client processes. */
export type ClientProcessCommand =
  /**
   * `deadline` (ms since epoch): a client still refused then gives up. `keepAliveMs`: an open
   * client sends {"action":"ping"} at a random time in this range after its last one, as real
   * clients do to stay under the gateway's idle timeout.
   */
  | {
      type: 'connect';
      url: string;
      count: number;
      localAddress: string;
      concurrency: number;
      deadline: number;
      keepAliveMs: { min: number; max: number };
    }
  | { type: 'watch'; marker: string }
  | { type: 'report' }
  | { type: 'close'; abrupt?: number };

export type ClientProcessReport =
  /** `retries`: handshakes attempted again after a refusal (429 over the connect rate, 5xx, network error). */
  | { type: 'connected'; open: number; failed: number; retries: number; firstError: string }
  /** While connecting, about once a second: sockets open now, and those the server has closed so far. */
  | { type: 'connecting'; open: number; closedByServer: number }
  | { type: 'watching' }
  | {
      type: 'report';
      open: number;
      received: number;
      duplicates: number;
      firstArrivals: number[];
      closedByServer: number;
    }
  | { type: 'closed' };

/** IPC between ClientSwarm and its client processes. */
export type ClientProcessCommand =
  | { type: 'connect'; url: string; count: number; localAddress: string; concurrency: number }
  | { type: 'watch'; marker: string }
  | { type: 'report' }
  | { type: 'close'; abrupt?: number };

export type ClientProcessReport =
  | { type: 'connected'; open: number; failed: number; firstError: string }
  | { type: 'watching' }
  | { type: 'report'; open: number; received: number; duplicates: number; firstArrivals: number[]; closedByServer: number }
  | { type: 'closed' };

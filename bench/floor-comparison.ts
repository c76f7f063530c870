/**
 * The floor's figures (bench/floor.ts) and the demo's beside them: medians over runs, and each demo
 * figure as a multiple of the floor's, so a figure measured on a loaded machine still says how far
 * the pipeline is from what the machine can do at that moment.
 */
import { median } from './stats';

/** One floor run. */
export interface FloorResult {
  clients: number;
  /** Processes the server sockets were spread over (one per 10,000). */
  serverProcesses: number;
  /** From the send to the last client's arrival, on the clients' clock (whole ms). */
  lastDeliveryMs: number;
  /** From starting the client swarm to every client open, as the demo measures it (client processes' start included). */
  connectMs: number;
  connectsPerSecond: number;
  /** Server processes' RSS after connecting minus before, over the sockets, both after a full collection. */
  serverBytesPerSocket: number;
}

/** One client count's floor medians, as kept in bench/results/demo.json beside the demo's. */
export interface FloorMedians {
  runs: number;
  lastDeliveryMs: number;
  connectMs: number;
  connectsPerSecond: number;
  serverBytesPerSocket: number;
}

export function floorMedians(results: readonly FloorResult[]): FloorMedians {
  const med = (pick: (r: FloorResult) => number) => Math.round(median(results.map(pick)));
  return {
    runs: results.length,
    lastDeliveryMs: med((r) => r.lastDeliveryMs),
    connectMs: med((r) => r.connectMs),
    connectsPerSecond: med((r) => r.connectsPerSecond),
    serverBytesPerSocket: med((r) => r.serverBytesPerSocket),
  };
}

/** `demo` as a multiple of `floor` ("544 ×", "7.8 ×"), or why there is none. */
export function timesTheFloor(demo: number, floor: number): string {
  if (!(floor > 0)) return `no ratio (the floor measured ${floor})`;
  const ratio = demo / floor;
  return `${ratio >= 10 ? Math.round(ratio).toLocaleString('en-US') : ratio.toFixed(1)} ×`;
}

/** The demo's medians for one client count that the floor is compared with. */
export interface DemoFigures {
  lastDeliveryMs: number;
  connectMs: number;
  /** The gateway workers' RSS over the sockets (their baseline included); absent in results kept before it was recorded. */
  gatewayBytesPerSocket?: number;
}

const ms = (n: number) => `${n.toLocaleString('en-US')} ms`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/**
 * One line: each demo figure / the floor's. Connecting compares times, so a ratio above 1 is
 * slower for every figure (connects/s is the inverse: 143/s against 1,111/s is 7.8 ×). The
 * demo's memory includes its workers' baseline (local/demo.ts reports no growth), so at a
 * thousand sockets that ratio says more about the baseline than about a socket.
 */
export function floorComparison(clients: number, demo: DemoFigures, floor: FloorMedians): string {
  const demoConnectsPerSecond = Math.round((clients * 1000) / Math.max(1, demo.connectMs));
  const memory =
    demo.gatewayBytesPerSocket === undefined
      ? `memory per socket: the demo's not recorded, the floor's ${kb(floor.serverBytesPerSocket)}`
      : `memory per socket (gateway RSS with its baseline / floor's growth) ${kb(demo.gatewayBytesPerSocket)} / ${kb(floor.serverBytesPerSocket)} = ${timesTheFloor(demo.gatewayBytesPerSocket, floor.serverBytesPerSocket)}`;
  return [
    `last delivery ${ms(demo.lastDeliveryMs)} / ${ms(floor.lastDeliveryMs)} = ${timesTheFloor(demo.lastDeliveryMs, floor.lastDeliveryMs)}`,
    `connecting ${ms(demo.connectMs)} / ${ms(floor.connectMs)} = ${timesTheFloor(demo.connectMs, floor.connectMs)} (${demoConnectsPerSecond.toLocaleString('en-US')}/s against ${floor.connectsPerSecond.toLocaleString('en-US')}/s)`,
    memory,
  ].join(', ');
}

/**
 * The local broadcast end to end: runs `swarmcast demo --json` several times per client
 * count (a fresh local stack each run), each run followed by the floor (bench/floor.ts: a plain
 * `ws` broadcast to as many loopback clients), and prints the medians with every demo figure as
 * a multiple of the floor's. Keeps both in bench/results/demo.json (merged by client count) and
 * draws bench/charts/demo-last-delivery.svg from that file; `--chart` redraws the chart from the
 * file without running anything.
 *
 *   npx tsx bench/demo.ts [clients=1000,5000] [runs=3]
 *   npx tsx bench/demo.ts --chart
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DemoSummary } from '../local/demo';
import { lastDeliveryChart, writeChart } from './charts';
import { BenchInputError, MAX_FLOOR_CLIENTS, measureFloor, parseCount } from './floor';
import { floorComparison, floorMedians, type FloorMedians, type FloorResult } from './floor-comparison';
import { median } from './stats';

/** One client count's medians, as kept in bench/results/demo.json. */
interface DemoResult {
  clients: number;
  runs: number;
  lastDeliveryMs: number;
  p50Ms: number;
  p99Ms: number;
  connectMs: number;
  partitions: number;
  /** The gateway workers' RSS over the sockets once all connected (baseline included); absent in runs kept before it was. */
  gatewayBytesPerSocket?: number;
  /** A plain `ws` broadcast to as many clients, one run after each demo run; absent in runs kept before it was. */
  floor?: FloorMedians;
  measuredAt: string;
  /** The machine's 1-minute load average as each run started: the figures come from a shared machine. */
  loadAverages?: number[];
}

/** The client counts the chart is meant to show; those not in the results file are named missing on it. */
const CHART_CLIENT_COUNTS = [1_000, 5_000, 20_000, 100_000];

const RESULTS_FILE = path.join(__dirname, 'results', 'demo.json');

function readResults(): DemoResult[] {
  return existsSync(RESULTS_FILE) ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as DemoResult[]) : [];
}

async function drawChart(results: readonly DemoResult[]): Promise<void> {
  const points = [...results]
    .sort((a, b) => a.clients - b.clients)
    .map((r) => ({
      clients: r.clients,
      lastDeliveryMs: r.lastDeliveryMs,
      floorLastDeliveryMs: r.floor?.lastDeliveryMs,
    }));
  const title = 'Time to last delivery: the local demo and its floor (real sockets, one machine)';
  const file = await writeChart(
    'demo-last-delivery',
    lastDeliveryChart(points, title, CHART_CLIENT_COUNTS, loadConditions(results)),
  );
  console.log(`chart: ${path.relative(process.cwd(), file)}`);
}

/** The 1-minute load averages the runs started at, as one line: the machine is shared, and its load moves these figures many times over. */
function loadConditions(results: readonly DemoResult[]): string {
  const loads = results.flatMap((r) => r.loadAverages ?? []);
  const unrecorded = results.filter((r) => !r.loadAverages).map((r) => r.clients.toLocaleString('en-US'));
  const parts = [];
  if (loads.length > 0)
    parts.push(
      `load average ${Math.min(...loads).toFixed(0)}–${Math.max(...loads).toFixed(0)} on ${os.cpus().length} cores as the runs started`,
    );
  if (unrecorded.length > 0) parts.push(`load not recorded for ${unrecorded.join(', ')} clients`);
  return parts.join('; ');
}

async function main(): Promise<void> {
  if (process.argv[2] === '--chart') return drawChart(readResults());

  const clientCounts = (process.argv[2] ?? '1000,5000')
    .split(',')
    .map((text) => parseCount('each client count', text, 1, MAX_FLOOR_CLIENTS));
  const runs = parseCount('runs', process.argv[3] ?? '3', 1, 20);
  const cli = path.join(__dirname, '..', 'cli', 'main.ts');

  const lines: string[] = [];
  const results = new Map(readResults().map((r) => [r.clients, r]));
  for (const clients of clientCounts) {
    const summaries: DemoSummary[] = [];
    const floorRuns: FloorResult[] = [];
    const loadAverages: number[] = [];
    // Alternating, so the demo and the floor see the same load on a shared machine.
    for (let run = 0; run < runs; run++) {
      loadAverages.push(Math.round(os.loadavg()[0] * 100) / 100);
      summaries.push(runDemo(cli, clients, run));
      floorRuns.push(await measureFloor(clients));
    }
    const floor = floorMedians(floorRuns);
    const med = (pick: (s: DemoSummary) => number) => Math.round(median(summaries.map(pick)));
    const m = (pick: (s: DemoSummary) => number) => med(pick).toLocaleString('en-US');
    const stage = (pick: (s: DemoSummary) => number | null) =>
      Math.round(median(summaries.map((s) => pick(s) ?? NaN))).toLocaleString('en-US');
    const result: DemoResult = {
      clients,
      runs,
      lastDeliveryMs: med((s) => s.durationMs),
      p50Ms: med((s) => s.p50Ms),
      p99Ms: med((s) => s.p99Ms),
      connectMs: med((s) => s.connectMs),
      partitions: med((s) => s.partitions),
      gatewayBytesPerSocket: med((s) => s.gatewayBytesPerSocket),
      floor,
      measuredAt: new Date().toISOString(),
      loadAverages,
    };
    results.set(clients, result);
    // Kept at once: a later client count that fails leaves the ones measured before it.
    saveResults([...results.values()]);
    lines.push(
      `  ${clients.toLocaleString('en-US').padStart(7)} clients: time to last delivery ${m((s) => s.durationMs)} ms, p50 ${m((s) => s.p50Ms)} ms, p99 ${m((s) => s.p99Ms)} ms, connecting ${m((s) => s.connectMs)} ms, partitions ${m((s) => s.partitions)}`,
      `           load average (1 min) at each run's start: ${loadAverages.join(', ')}`,
      `           since the execution started: fan-out ${stage((s) => s.stages.fanOutStarted)}–${stage((s) => s.stages.fanOutEnded)} ms, enqueued ${stage((s) => s.stages.firstEnqueued)}–${stage((s) => s.stages.lastEnqueued)} ms, delivered ${stage((s) => s.stages.firstDelivery)}–${stage((s) => s.stages.lastDelivery)} ms`,
      `           demo / plain ws floor (medians, same run): ${floorComparison(clients, result, floor)}`,
    );
  }
  console.log(
    `\nnpx tsx bench/demo.ts ${clientCounts.join(',')} ${runs}   (median of ${runs} runs each, every run delivered exactly once, each followed by a floor run)`,
  );
  console.log(lines.join('\n'));
  await drawChart(readResults());
}

function saveResults(results: DemoResult[]): void {
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify(
      [...results].sort((a, b) => a.clients - b.clients),
      null,
      1,
    )}\n`,
  );
}

/** One `swarmcast demo --json` in a fresh process; a run that did not deliver exactly once stops the benchmark, saying why. */
function runDemo(cli: string, clients: number, run: number): DemoSummary {
  const child = spawnSync(process.execPath, ['--import', 'tsx', cli, 'demo', '--json', '--clients', String(clients)], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const lastLine = child.stdout.trim().split('\n').pop() ?? '';
  const summary = lastLine.startsWith('{') ? (JSON.parse(lastLine) as DemoSummary) : undefined;
  if (summary?.ok) return summary;
  const why = summary
    ? `delivered ${summary.delivered}, received ${summary.received} (${summary.duplicates} duplicates), failed ${summary.failed}, execution ${summary.executionStatus}`
    : child.stderr.trim().split('\n').slice(-5).join(' | ');
  throw new Error(
    `run ${run + 1} with ${clients} clients did not deliver exactly once (exit ${child.status ?? child.signal}): ${why}`,
  );
}

main().catch((error) => {
  if (error instanceof BenchInputError) {
    console.error(`${error.message}\nusage: npx tsx bench/demo.ts [clients=1000,5000] [runs=3] | --chart`);
    process.exit(1);
  }
  console.error(`bench/demo.ts failed: ${error instanceof Error ? error.stack : error}`);
  process.exit(1);
});

/**
 * The local broadcast end to end: runs `swarmcast demo --json` several times per client
 * count (a fresh local stack each run) and prints the medians.
 *
 *   npx tsx bench/demo.ts [clients=1000,5000] [runs=3]
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { DemoSummary } from '../local/demo';
import { median } from './stats';

const clientCounts = (process.argv[2] ?? '1000,5000').split(',').map(Number);
const runs = Number(process.argv[3] ?? 3);
const cli = path.join(__dirname, '..', 'cli', 'main.ts');

const lines: string[] = [];
for (const clients of clientCounts) {
  const summaries: DemoSummary[] = [];
  for (let run = 0; run < runs; run++) {
    const output = execFileSync(process.execPath, ['--import', 'tsx', cli, 'demo', '--json', '--clients', String(clients)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const summary = JSON.parse(output.trim().split('\n').pop()!) as DemoSummary;
    if (!summary.ok) throw new Error(`run ${run} with ${clients} clients was not delivered exactly once: ${output}`);
    summaries.push(summary);
  }
  const m = (pick: (s: DemoSummary) => number | null) => Math.round(median(summaries.map((s) => pick(s) ?? NaN))).toLocaleString('en-US');
  lines.push(
    `  ${clients.toLocaleString('en-US').padStart(7)} clients: time to last delivery ${m((s) => s.durationMs)} ms, p50 ${m((s) => s.p50Ms)} ms, p99 ${m((s) => s.p99Ms)} ms, connecting ${m((s) => s.connectMs)} ms, partitions ${m((s) => s.partitions)}`,
    `           since the execution started: fan-out ${m((s) => s.stages.fanOutStarted)}–${m((s) => s.stages.fanOutEnded)} ms, enqueued ${m((s) => s.stages.firstEnqueued)}–${m((s) => s.stages.lastEnqueued)} ms, delivered ${m((s) => s.stages.firstDelivery)}–${m((s) => s.stages.lastDelivery)} ms`,
  );
}
console.log(`\nnpx tsx bench/demo.ts ${clientCounts.join(',')} ${runs}   (median of ${runs} runs each, every run delivered exactly once)`);
console.log(lines.join('\n'));

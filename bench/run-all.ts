/** `npm run bench`: every benchmark, one after the other (they share the machine's two cores). */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

for (const [script, args] of [
  ['post-throughput.ts', ['5000', '5']],
  ['demo.ts', ['1000,5000', '3']],
] as const) {
  execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, script), ...args], { stdio: 'inherit' });
}

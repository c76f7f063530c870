/**
 * `npm run test:faults`: the fault matrix. Runs every case of faults/cases.ts (or those
 * named with --case) one after the other, each in its own process on a fresh local stack,
 * prints one line per case and then `faults: N cases, M missed, D duplicates`, writes the
 * table to faults/results/latest.md, and exits 1 if any case fails its verdict.
 *
 *   npm run test:faults -- [--clients 2000] [--case name,name] [--deadline-seconds 120]
 */
import { mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { forkTypeScript } from '../local/fork-typescript';
import { FAULT_CASES } from './cases';
import type { CaseRequest } from './case-process';
import { caseLine, type CaseMeasurement, exitCodeOf, markdownTable, summaryLine } from './verdict';

const CLIENTS = { default: 2_000, min: 10, max: 15_000 };
const DEADLINE_SECONDS = { default: 120, min: 30, max: 900 };
/** Stack start, connecting, the sweep and stopping, on top of the deadline, before a case process is given up on. */
const CASE_OVERHEAD_MS = 6 * 60_000;
const RESULTS_DIR = path.join(__dirname, 'results');

class UsageError extends Error {}

function integerOption(
  flag: string,
  raw: string | undefined,
  bounds: { default: number; min: number; max: number },
): number {
  if (raw === undefined) return bounds.default;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max)
    throw new UsageError(`--${flag} must be an integer from ${bounds.min} to ${bounds.max}, got "${raw}"`);
  return value;
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    options: { clients: { type: 'string' }, case: { type: 'string' }, 'deadline-seconds': { type: 'string' } },
  });
}

function parse(argv: string[]) {
  const known = FAULT_CASES.map((make) => make().name);
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    ({ values } = parseOptions(argv));
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message.split('\n')[0]}; allowed: --clients N, --case name[,name], --deadline-seconds S`,
    );
  }
  const cases = values.case ? values.case.split(',').map((name) => name.trim()) : known;
  const unknown = cases.find((name) => !known.includes(name));
  if (unknown !== undefined)
    throw new UsageError(`--case: no case named "${unknown}"; the cases are ${known.join(', ')}`);
  return {
    cases,
    clients: integerOption('clients', values.clients, CLIENTS),
    deadlineMs: 1000 * integerOption('deadline-seconds', values['deadline-seconds'], DEADLINE_SECONDS),
  };
}

/** Forks the case's process with its output in `logFile`; resolves with its measurement (a "not measured" one if it died). */
function runCase(request: CaseRequest, logFile: string): Promise<CaseMeasurement> {
  return new Promise((resolve) => {
    const output = openSync(logFile, 'w');
    // Its own process group, so a case that overstays can be ended with everything it started.
    const child = forkTypeScript(path.join(__dirname, 'case-process.ts'), [JSON.stringify(request)], {
      stdout: output,
      detached: true,
    });
    let measurement: CaseMeasurement | undefined;
    const notMeasured = (error: string): CaseMeasurement => ({
      name: request.name,
      alive: 0,
      delivered: 0,
      duplicates: 0,
      rowsCoverOpenSockets: false,
      status: 'NOT RUN',
      ms: 0,
      duplicatesAllowed: 0,
      unanswered: 0,
      error,
    });
    const timer = setTimeout(() => {
      measurement ??= notMeasured(`no result within ${(request.deadlineMs + CASE_OVERHEAD_MS) / 1000} s`);
      process.kill(-child.pid!, 'SIGKILL');
    }, request.deadlineMs + CASE_OVERHEAD_MS);
    child.on('message', (message: CaseMeasurement) => (measurement ??= message));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // The case's children (services, workers, function instances) end with it.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is already gone
      }
      resolve(
        measurement ??
          notMeasured(`case process exited (code ${code}, signal ${signal}) without a result${lastErrorIn(logFile)}`),
      );
    });
  });
}

/** The last error a crashed case process wrote (", last error: …"), so its line says why without opening the log. */
function lastErrorIn(logFile: string): string {
  const errors = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => /^\w*Error\b/.test(line));
  return errors.length > 0 ? `, last error: ${errors[errors.length - 1].slice(0, 160)}` : '';
}

async function main(): Promise<number> {
  const { cases, clients, deadlineMs } = parse(process.argv.slice(2));
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'swarmcast-faults-'));
  console.log(
    `fault matrix: ${cases.length} case(s), ${clients} clients each, deadline ${deadlineMs / 1000} s; logs in ${logDir}`,
  );
  const measurements: CaseMeasurement[] = [];
  for (const name of cases) {
    const measurement = await runCase({ name, clients, deadlineMs }, path.join(logDir, `${name}.log`));
    measurements.push(measurement);
    console.log(caseLine(measurement));
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  const heading = `${new Date().toISOString()} — ${clients} clients per case, \`npm run test:faults${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\`, load average ${os
    .loadavg()
    .map((n) => n.toFixed(1))
    .join(' ')}`;
  writeFileSync(
    path.join(RESULTS_DIR, 'latest.md'),
    `${heading}\n\n${markdownTable(measurements)}\n\n${summaryLine(measurements)}\n`,
  );
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify({ heading, measurements }, null, 2)}\n`);
  console.log(summaryLine(measurements));
  return exitCodeOf(measurements);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof UsageError ? `test:faults: ${error.message}` : error);
    process.exit(2);
  },
);

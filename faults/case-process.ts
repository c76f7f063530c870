/**
 * Runs one case of the fault matrix in a process of its own (forked by faults/run.ts, which reads
 * the measurement over IPC): a fresh local stack with the case's faults, the clients, the
 * broadcast, the fault beside it, then a sweep and the rows against the open sockets. Its own
 * process keeps one case's leftovers (and the handlers' logs, written to the case's log file)
 * away from the next case and from the matrix's output.
 */
import { randomBytes } from 'node:crypto';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { localSfnClient } from '../local/demo';
import { startLocalStack } from '../local/stack';
import { connectionRows, localDynamo } from '../local/inspection';
import { type CaseContext, FAULT_CASES, MATRIX_CONFIG } from './cases';
import { FaultClients, sleep } from './clients';
import type { CaseMeasurement } from './verdict';

/** What the runner asks of this process (argv[2], JSON). */
export interface CaseRequest {
  name: string;
  clients: number;
  /** From StartExecution until the case stops waiting for delivery. */
  deadlineMs: number;
}

const DEFAULT_MESSAGE_BYTES = 1024;
const CONNECT_TIMEOUT_MS = 180_000;
/** A sweep of a few thousand connections takes 30–60 s on a loaded machine. */
const SWEEP_TIMEOUT_MS = 120_000;
/** $disconnect runs after a socket closed: the rows get this long to settle after the sweep. */
const SETTLE_TIMEOUT_MS = 15_000;

const log = (line: string) => console.log(`[${new Date().toISOString()}] ${line}`);

async function runCase({ name, clients: clientCount, deadlineMs }: CaseRequest): Promise<CaseMeasurement> {
  const make = FAULT_CASES.find((make) => make().name === name);
  if (!make) throw new Error(`no fault case named "${name}"`);
  const fault = make();
  const options = typeof fault.stack === 'function' ? fault.stack(clientCount) : fault.stack;
  const stack = await startLocalStack({
    progressPollMs: 200,
    ...options,
    config: { ...MATRIX_CONFIG, ...options?.config },
  });
  const sfn = localSfnClient(stack);
  const dynamo = localDynamo(stack);
  let clients: FaultClients | undefined;
  try {
    log(`stack up; connecting ${clientCount} clients`);
    clients = await FaultClients.connect(stack.webSocketUrl, clientCount, Date.now() + CONNECT_TIMEOUT_MS);
    const marker = `fault-${name}-${randomBytes(4).toString('hex')}`;
    clients.watch(marker);
    const message = { text: marker, padding: 'x'.repeat(fault.messageBytes ?? DEFAULT_MESSAGE_BYTES) };

    const startedAt = Date.now();
    const deadline = startedAt + deadlineMs;
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name, input: JSON.stringify({ message }) }),
    );
    log(`broadcast ${name} started to ${clients.expectedCount} clients`);
    const owed = clients;
    const describe = () => sfn.send(new DescribeExecutionCommand({ executionArn: executionArn! }));
    const status = async () => (await describe()).status ?? 'UNKNOWN';
    const idle = () => stack.consumers.idle().catch(() => false);
    const run: CaseContext = {
      stack,
      clients,
      sfn,
      executionArn: executionArn!,
      log,
      async deliveredTo(fraction) {
        while (owed.receivedCount < Math.ceil(owed.expectedCount * fraction) && Date.now() < deadline) await sleep(5);
      },
      async settled() {
        if (Date.now() >= deadline) return true;
        const report = owed.report();
        return report.delivered >= report.alive || (await status().catch(() => 'RUNNING')) !== 'RUNNING';
      },
      async ended(arn = executionArn!) {
        const statusOf = async () =>
          (await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).status ?? 'UNKNOWN';
        while (Date.now() < deadline) {
          if ((await statusOf().catch(() => 'RUNNING')) !== 'RUNNING' && (await idle())) return;
          await sleep(200);
        }
      },
    };

    await fault.during?.(run);
    await run.ended();
    log(`broadcast ended: ${await status()}`);
    const replayed = await fault.after?.(run);
    const ms = Date.now() - startedAt;
    const execution = replayed
      ? await sfn.send(new DescribeExecutionCommand({ executionArn: replayed.executionArn }))
      : await describe();
    const finalStatus = `${execution.status}${execution.error ? ` ${execution.error}` : ''}${Date.now() >= deadline ? ' at the deadline' : ''}`;
    // Late copies (a redelivered batch) arrive within moments of the queues draining.
    await sleep(1_000);
    const report = clients.report();
    log(`measured: ${JSON.stringify(report)}, ${finalStatus}, ${ms} ms`);

    const rowsCoverOpenSockets = await sweepAndCompare(run, report.open);
    // The broadcast's own count of posts that got no answer and went out again (its summary, the execution's output).
    const unanswered = (JSON.parse(execution.output ?? '{}') as { unanswered?: number }).unanswered ?? 0;
    const { outcome, outcomeProblems } = replayed ?? {};
    return {
      name,
      alive: report.alive,
      delivered: report.delivered,
      duplicates: report.duplicates,
      rowsCoverOpenSockets,
      status: finalStatus,
      ms,
      duplicatesAllowed: fault.duplicatesAllowed,
      unanswered,
      outcome,
      outcomeProblems,
    };
  } finally {
    await clients?.closeAll();
    await stack.stop().catch((error) => log(`stopping the stack failed: ${error}`));
    sfn.destroy();
    dynamo.destroy();
  }

  /**
   * Runs a sweep and compares: is there a row for every open socket, each in the partition its id
   * hashes to? Rows of sockets closed without a $disconnect may stay (the sweep removes rows only
   * once expired; a broadcast's 410 sooner): they are logged, not failed. Waits for the sweep to end
   * and $disconnect to settle while rows and open sockets differ, then says whether they cover.
   */
  async function sweepAndCompare(run: CaseContext, openSockets: number): Promise<boolean> {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachineArn,
        name: `sweep-${name}`,
        input: JSON.stringify({ kind: 'sweep' }),
      }),
    );
    const giveUpAt = Date.now() + SWEEP_TIMEOUT_MS;
    let settleBy = Infinity;
    for (;;) {
      const { rows, misplaced } = await connectionRows(dynamo, stack);
      const total = [...rows.values()].reduce((sum, n) => sum + n, 0);
      const exact = total === openSockets && misplaced.length === 0;
      const covered = total >= openSockets && misplaced.length === 0;
      const sweep = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (sweep.status !== 'RUNNING') settleBy = Math.min(settleBy, Date.now() + SETTLE_TIMEOUT_MS);
      if (exact || Date.now() > settleBy || Date.now() > giveUpAt) {
        run.log(
          `sweep ${sweep.status}; rows ${total} for ${openSockets} open sockets${total > openSockets ? ` (${total - openSockets} of closed sockets, left to their TTL or the next broadcast's 410)` : ''}${misplaced.length > 0 ? `; ${misplaced.length} rows outside their id's partition` : ''}`,
        );
        return covered;
      }
      await sleep(500);
    }
  }
}

const request = JSON.parse(process.argv[2] ?? '{}') as CaseRequest;
runCase(request).then(
  (measurement) => process.send!(measurement, () => process.exit(0)),
  (error: Error) => {
    log(`case failed: ${error.stack ?? error}`);
    const measurement: CaseMeasurement = {
      name: request.name,
      alive: 0,
      delivered: 0,
      duplicates: 0,
      rowsCoverOpenSockets: false,
      status: 'NOT RUN',
      ms: 0,
      duplicatesAllowed: 0,
      unanswered: 0,
      error: error.message.split('\n')[0],
    };
    process.send!(measurement, () => process.exit(1));
  },
);

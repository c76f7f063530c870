/**
 * What the broadcast tests share: waiting on events rather than the clock, counting receipts
 * only once the execution has ended and every shard queue has drained, and running the CLI as
 * an operator's script would.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { ClientSwarm } from '../../../local/clients/swarm';
import type { LocalStack } from '../../../local/stack';

const POLL_MS = 50;
const BIN = path.join(__dirname, '..', '..', '..', 'cli', 'bin', 'swarmcast.cjs');
/** A CLI run that outlives this was stuck: fail it rather than the whole test's timeout. */
const CLI_TIMEOUT_MS = 110_000;

/** Waits until `condition` holds; with no `timeoutMs` the test's own timeout bounds it. */
export async function waitUntil(condition: () => Promise<boolean> | boolean, timeoutMs?: number): Promise<void> {
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * The swarm's report once the execution (when given) has ended and every shard queue is drained
 * (nothing visible, in flight or delayed): a task redelivered after the clients first counted the
 * message shows up here as a duplicate.
 */
export async function reportAfterDrain(
  { stack, swarm, sfn }: { stack: LocalStack; swarm: ClientSwarm; sfn?: SFNClient },
  executionArn?: string,
): Promise<Awaited<ReturnType<ClientSwarm['report']>>> {
  if (executionArn !== undefined) {
    if (!sfn) throw new Error('reportAfterDrain needs an SFN client to wait for an execution');
    await waitUntil(async () => (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status !== 'RUNNING');
  }
  await waitUntil(() => stack.consumers.idle());
  return swarm.report();
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `swarmcast ...args` as an operator would in a script: no TTY, no stdin, no AWS variables. */
export function runCli(args: string[], registry: string, env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? os.tmpdir(),
        SWARMCAST_LOCAL_DIR: registry,
        ...env,
      },
      timeout: CLI_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

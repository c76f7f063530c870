/** The gateway's worker processes (worker.ts), as the primary process starts, calls and stops them. */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { forkTypeScript } from '../fork-typescript';
import type { WorkerCallName, WorkerCalls, WorkerReply, WorkerRequest } from './worker-protocol';

const WORKER_ENTRY = join(__dirname, 'worker.ts');

/**
 * glibc serves allocations from this size up with their own mappings, unmapped when freed. A
 * socket's reads and a slow reader's messages are 16–128 KiB pieces; kept in the heap, a freed
 * backlog stayed resident (500 slow readers: 348 MiB of 381 MiB after draining); mapped, it is
 * given back (88 MiB). Measured with bench/slow-readers.ts; no cost per post in bench/gateway-post-cost.ts.
 */
const MMAP_THRESHOLD_BYTES = 32 * 1024;

/** The primary's handle on one worker process: typed IPC calls and its exit. */
export class WorkerProcess {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  /** Resolves when the process has exited, with how. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly index: number,
    handlerOutput: 'inherit' | 'ignore',
  ) {
    this.child = forkTypeScript(WORKER_ENTRY, [], {
      // Nothing inherited from this process: the route functions it starts get exactly their own environments.
      // glibc reads this at start.
      env: { MALLOC_MMAP_THRESHOLD_: String(MMAP_THRESHOLD_BYTES) },
      stdout: handlerOutput,
      // The worker collects garbage itself once a slow readers' backlog has drained (connection-registry.ts).
      nodeFlags: ['--expose-gc'],
    });
    this.child.on('message', (reply: WorkerReply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.result);
      else waiter?.reject(new Error(`gateway worker ${index}: ${reply.error}`));
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        const error = new Error(`gateway worker ${index} exited (code ${code}, signal ${signal})`);
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  call<K extends WorkerCallName>(call: K, args: WorkerCalls[K]['args']): Promise<WorkerCalls[K]['result']> {
    if (!this.running) return Promise.reject(new Error(`gateway worker ${this.index} is not running`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, call, ...args } as WorkerRequest);
    });
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

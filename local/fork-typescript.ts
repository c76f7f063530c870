/**
 * The one way the local stack starts a process of its own (gateway workers, function instances,
 * the emulators): a TypeScript entry run under tsx, with an IPC channel to this process.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/** tsx's loader as a file URL, so `--import` works whatever the working directory is. */
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

export interface ForkOptions {
  /** The child's whole environment; absent: this process's. */
  env?: Record<string, string>;
  /** Where the child's stdout goes (stderr always goes to ours). */
  stdout?: 'inherit' | 'ignore';
}

export function forkTypeScript(entryFile: string, args: readonly string[], { env, stdout = 'inherit' }: ForkOptions = {}): ChildProcess {
  return fork(entryFile, args, { execArgv: ['--import', TSX_LOADER], ...(env ? { env } : {}), stdio: ['ignore', stdout, 'inherit', 'ipc'] });
}

/**
 * The one way swarmcast starts a process of its own (gateway workers, function instances, the
 * emulators, client processes, fault cases): a TypeScript entry run under tsx, or a bundle under
 * plain Node, with an IPC channel to this process.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/** tsx's loader as a file URL, so `--import` works whatever the working directory is. */
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

export interface ForkOptions {
  /** The child's whole environment; absent: this process's. */
  env?: Record<string, string>;
  /** Where the child's stdout goes: ours, nowhere, or an open file (then its stderr goes there too; otherwise to ours). */
  stdout?: 'inherit' | 'ignore' | number;
  /** Its own process group, so whatever it starts can be ended with it. */
  detached?: boolean;
  /** Node flags for the child, before tsx's loader (e.g. `--expose-gc`). */
  nodeFlags?: readonly string[];
}

export function forkTypeScript(entryFile: string, args: readonly string[], options: ForkOptions = {}): ChildProcess {
  return forkNode(entryFile, args, { ...options, nodeFlags: [...(options.nodeFlags ?? []), '--import', TSX_LOADER] });
}

/** The same for a JavaScript entry (a bundle): plain Node, no loader to start. */
export function forkNode(
  entryFile: string,
  args: readonly string[],
  { env, stdout = 'inherit', detached = false, nodeFlags = [] }: ForkOptions = {},
): ChildProcess {
  const stderr = typeof stdout === 'number' ? stdout : 'inherit';
  return fork(entryFile, args, {
    execArgv: [...nodeFlags],
    ...(env ? { env } : {}),
    stdio: ['ignore', stdout, stderr, 'ipc'],
    detached,
  });
}

/**
 * The registry of running local stacks: each `swarmcast local` writes where its services listen
 * to a file of its own (`<pid>.json` in one folder), so the CLI finds every stack on this machine
 * without flags, and a stack that stops removes its own entry and no other.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Where the local stack's services listen. */
export interface LocalStackEndpoints {
  region: string;
  webSocketUrl: string;
  connectionsEndpoint: string;
  stepFunctionsEndpoint: string;
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  stateMachineArn: string;
}

export interface PublishedLocalStack extends LocalStackEndpoints {
  /** The `swarmcast local` process: an entry whose process is gone is stale. */
  pid: number;
}

/** What the registry holds: the stacks whose process runs, and the entries of stacks that ended without removing theirs. */
export interface LocalStacks {
  running: PublishedLocalStack[];
  stale: PublishedLocalStack[];
}

/** The registry folder; SWARMCAST_LOCAL_DIR moves it (tests keep their stacks apart with it). */
export const registryDir = (): string => process.env.SWARMCAST_LOCAL_DIR ?? path.join(os.tmpdir(), 'swarmcast-local');

const entryFile = (pid: number): string => path.join(registryDir(), `${pid}.json`);

/** Publishes a running stack's endpoints under its process id (this process unless given). */
export async function publishLocalStack(stack: LocalStackEndpoints, pid = process.pid): Promise<void> {
  const {
    region,
    webSocketUrl,
    connectionsEndpoint,
    stepFunctionsEndpoint,
    dynamoDbEndpoint,
    sqsEndpoint,
    stateMachineArn,
  } = stack;
  const entry: PublishedLocalStack = {
    pid,
    region,
    webSocketUrl,
    connectionsEndpoint,
    stepFunctionsEndpoint,
    dynamoDbEndpoint,
    sqsEndpoint,
    stateMachineArn,
  };
  await mkdir(registryDir(), { recursive: true });
  // Written aside, then renamed: a reader never sees half an entry.
  const partial = `${entryFile(pid)}.${process.pid}.tmp`;
  await writeFile(partial, JSON.stringify(entry, null, 2));
  await rename(partial, entryFile(pid));
}

/** Removes the entry of the stack with this process id (this process unless given), and only that one. */
export async function unpublishLocalStack(pid = process.pid): Promise<void> {
  await rm(entryFile(pid), { force: true });
}

/** Removes the entries of stacks whose process is gone (a `swarmcast local` that was killed). */
export async function removeStaleEntries(): Promise<void> {
  const { stale } = await findLocalStacks();
  await Promise.all(stale.map((entry) => unpublishLocalStack(entry.pid)));
}

/** Every entry of the registry, the running stacks oldest process first; unreadable files are skipped. */
export async function findLocalStacks(): Promise<LocalStacks> {
  let names: string[];
  try {
    names = await readdir(registryDir());
  } catch {
    return { running: [], stale: [] };
  }
  const entries = await Promise.all(
    names.filter((name) => /^\d+\.json$/.test(name)).map((name) => readEntry(path.join(registryDir(), name))),
  );
  const found: LocalStacks = { running: [], stale: [] };
  for (const entry of entries) if (entry) (isRunning(entry.pid) ? found.running : found.stale).push(entry);
  found.running.sort((a, b) => a.pid - b.pid);
  return found;
}

async function readEntry(file: string): Promise<PublishedLocalStack | undefined> {
  try {
    const entry = JSON.parse(await readFile(file, 'utf8')) as PublishedLocalStack;
    return Number.isInteger(entry.pid) &&
      typeof entry.stepFunctionsEndpoint === 'string' &&
      typeof entry.stateMachineArn === 'string'
      ? entry
      : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0 only asks whether the process exists
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The running local fleets: `swarmcast local --cells K` writes its fleet file into the registry of
 * local stacks (lib/local-stacks.ts) as `<pid>.fleet.json`, so `--fleet local` finds it, and removes
 * it when it stops.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Fleet } from '../client/fleet';
import { registryDir } from './local-stacks';

export const fleetFileOf = (pid: number): string => path.join(registryDir(), `${pid}.fleet.json`);

/** Writes the fleet file of this process's fleet; returns its path. */
export async function publishLocalFleet(fleet: Fleet, pid = process.pid): Promise<string> {
  await mkdir(registryDir(), { recursive: true });
  const file = fleetFileOf(pid);
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(fleet, null, 2)}\n`);
  await rename(partial, file);
  return file;
}

export async function unpublishLocalFleet(pid = process.pid): Promise<void> {
  await rm(fleetFileOf(pid), { force: true });
}

/** The fleet files of running `swarmcast local --cells` processes, oldest process first. */
export async function findLocalFleets(): Promise<{ pid: number; file: string }[]> {
  let names: string[];
  try {
    names = await readdir(registryDir());
  } catch {
    return [];
  }
  const found = names
    .map((name) => /^(\d+)\.fleet\.json$/.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ pid: Number(match[1]), file: path.join(registryDir(), match[0]) }))
    .filter(({ pid }) => isRunning(pid));
  return found.sort((a, b) => a.pid - b.pid);
}

export const readFleetFile = (file: string): Promise<string> => readFile(file, 'utf8');

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0 only asks whether the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

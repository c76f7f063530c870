/**
 * `swarmcast local --data DIR`: the folder is made and tried with a small write before anything
 * starts, so a folder that cannot hold the tables is one clear line at once, not a misleading
 * error or a hang later inside dynalite.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from './errors';

const WHY: Record<string, string> = {
  ENOENT: 'a folder cannot be made there',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'it is a file, not a folder',
  ENOSPC: 'the disk is full',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'the path loops through symbolic links',
};

/** Makes `dir` (and its parents) and checks that a file can be written in it; a CliError saying why not. */
export async function checkDataDir(dir: string): Promise<void> {
  const probe = path.join(dir, `.swarmcast-write-check-${process.pid}`);
  try {
    await makeFolders(path.resolve(dir));
    await writeFile(probe, 'swarmcast');
    await rm(probe, { force: true });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new CliError(
      `--data ${dir} cannot hold the tables: ${(code && WHY[code]) ?? message} (${code ?? 'error'}); give a folder you can write to, or leave --data out to keep the tables in memory`,
    );
  }
}

/**
 * mkdir -p, one folder at a time: Node 20's `mkdir(…, { recursive: true })` never settles when the
 * parent exists but refuses new entries with ENOENT (as /proc does), which hung `--data`.
 */
async function makeFolders(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = dir; ; current = path.dirname(current)) {
    const found = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (found) {
      if (!found.isDirectory())
        throw Object.assign(new Error(`${current} is a file`), { code: current === dir ? 'EEXIST' : 'ENOTDIR' });
      break;
    }
    missing.unshift(current);
    if (path.dirname(current) === current) break;
  }
  for (const folder of missing) await mkdir(folder);
}

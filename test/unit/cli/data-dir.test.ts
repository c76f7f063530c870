/** `--data DIR` is checked before the stack starts: a folder that cannot hold the tables is one line saying why. */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkDataDir } from '../../../cli/data-dir';
import { CliError } from '../../../cli/errors';

let tempDir: string;
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'swarmcast-data-'));
  await writeFile(path.join(tempDir, 'a-file'), 'not a folder');
});
afterAll(() => rm(tempDir, { recursive: true, force: true }));

test('a new folder is made, and nothing is left in it', async () => {
  const dir = path.join(tempDir, 'new', 'tables');

  await checkDataDir(dir);

  expect(await readdir(dir)).toEqual([]);
});

test.each([
  ['a file', () => path.join(tempDir, 'a-file'), /it is a file, not a folder \(EEXIST\)/],
  [
    'a path through a file',
    () => path.join(tempDir, 'a-file', 'tables'),
    /a part of the path is a file, not a folder \(ENOTDIR\)/,
  ],
  [
    'a place where no folder can be made (it hung before)',
    () => '/proc/swarmcast-tables',
    /a folder cannot be made there \(ENOENT\)/,
  ],
  ['a read-only file system', () => '/sys/swarmcast-tables', /\((EROFS|EPERM|EACCES)\)/],
])('%s is refused with why and what to do', async (_name, dir, why) => {
  const error = await checkDataDir(dir()).catch((thrown: unknown) => thrown);

  expect(error).toBeInstanceOf(CliError);
  expect((error as CliError).message).toMatch(
    new RegExp(`^--data ${dir().replace(/[/.]/g, '\\$&')} cannot hold the tables: `),
  );
  expect((error as CliError).message).toMatch(why);
  expect((error as CliError).message).toMatch(
    /; give a folder you can write to, or leave --data out to keep the tables in memory$/,
  );
});

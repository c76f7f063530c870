/**
 * A child server (dynalite, local-aws-sqs) that an unhandled error ends says why, in the one line
 * the stack stops with; a full disk is named as such. The fixture throws LevelDB's error as
 * dynalite does when the disk of --data is full.
 */
import path from 'node:path';
import { forkServer } from '../../../local/child-server';

jest.setTimeout(60_000);

test('a child ended by a full disk: the stop line names the error and the disk', async () => {
  const server = await forkServer(
    path.join(__dirname, '..', 'fixtures', 'child-server', 'fails-with-full-disk.ts'),
    {},
  );

  await expect(server.died).resolves.toBe(
    'exited with code 1 after LEVEL_IO_ERROR: IO error: /data/tables/000003.log: No space left on device — the disk is full (ENOSPC): free space on it, or give --data a folder on another disk',
  );
});

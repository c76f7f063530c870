import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkBroadcastId, newBroadcastId, newSweepId, replayId, replayNumber } from '../../../lib/broadcast-ids';
import { CliError } from '../../../cli/errors';
import { readBroadcastInput } from '../../../lib/payload';

let tempDir: string;
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'swarmcast-input-'));
});
afterAll(() => rm(tempDir, { recursive: true, force: true }));

describe('readBroadcastInput: the send payload, checked before anything starts', () => {
  it('sends --message as text and --message-json as a JSON value', async () => {
    expect(await readBroadcastInput({ message: 'hello' })).toEqual({ message: 'hello' });
    expect(await readBroadcastInput({ messageJson: '{"type":"notice","n":1}' })).toEqual({
      message: { type: 'notice', n: 1 },
    });
  });

  it('reads --file as text, or as JSON when it is a .json file', async () => {
    await writeFile(path.join(tempDir, 'note.txt'), '{not json, just text}');
    await writeFile(path.join(tempDir, 'note.json'), '{"text": "hi"}');

    expect(await readBroadcastInput({ file: path.join(tempDir, 'note.txt') })).toEqual({
      message: '{not json, just text}',
    });
    expect(await readBroadcastInput({ file: path.join(tempDir, 'note.json') })).toEqual({ message: { text: 'hi' } });
  });

  it('refuses a --file that is not UTF-8, naming where, instead of replacing it with U+FFFD', async () => {
    const latin1 = path.join(tempDir, 'latin1.txt');
    await writeFile(latin1, Buffer.from('caf\xe9 ol\xe9', 'latin1'));
    const truncated = path.join(tempDir, 'truncated.json');
    await writeFile(truncated, Buffer.concat([Buffer.from('"\u00e9'), Buffer.from([0xe2, 0x82])]));

    await expect(readBroadcastInput({ file: latin1 })).rejects.toThrow(
      new CliError(
        `--file ${latin1} is not UTF-8 text (from byte offset 3); a WebSocket text message must be UTF-8: convert the file first, e.g. iconv -f latin1 -t utf-8`,
      ),
    );
    await expect(readBroadcastInput({ file: truncated })).rejects.toThrow(/is not UTF-8 text \(from byte offset 3\)/);
  });

  it.each([
    [{}, 'give the message with exactly one of --message TEXT, --message-json JSON or --file PATH'],
    [
      { message: 'a', file: 'b' },
      'give the message with exactly one of --message TEXT, --message-json JSON or --file PATH (got --message and --file)',
    ],
    [
      { message: 'a', messageJson: '"b"' },
      'give the message with exactly one of --message TEXT, --message-json JSON or --file PATH (got --message and --message-json)',
    ],
    [{ message: '' }, 'the message is empty: give the text to send with --message, --message-json or --file'],
    [{ messageJson: 'null' }, 'the message is empty: give the text to send with --message, --message-json or --file'],
    [{ messageJson: '{bad' }, /^--message-json is not valid JSON \(.+\); for plain text use --message$/],
    [
      { message: 'x'.repeat(128 * 1024 + 1) },
      'cannot send: "message" is 131,073 bytes; a WebSocket message can carry at most 131,072 bytes (128 KB)',
    ],
    [{ file: '/no/such/file.txt' }, 'cannot read --file /no/such/file.txt: no such file'],
  ])('refuses %j', async (options, expected) => {
    const error = await readBroadcastInput(options).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toEqual(
      typeof expected === 'string' ? expected : expect.stringMatching(expected),
    );
  });
});

describe('ids', () => {
  it('are valid execution names, sortable by time', () => {
    const at = new Date('2026-05-02T10:15:30.123Z');

    expect(newBroadcastId(at)).toMatch(/^b-20260502-101530-[0-9a-f]{6}$/);
    expect(newBroadcastId(at)).not.toBe(newBroadcastId(at));
    expect(newSweepId(at)).toMatch(/^sweep-20260502-101530-[0-9a-f]{6}$/);
  });

  it('name replays after their broadcast', () => {
    expect(replayId('b-1', 2)).toBe('b-1-replay-2');
    expect(replayNumber('b-1', 'b-1-replay-2')).toBe(2);
    expect(replayNumber('b-1', 'b-10-replay-2')).toBeUndefined();
    expect(replayNumber('b-1', 'b-1')).toBeUndefined();
  });

  it('refuses an id that cannot be an execution name', () => {
    expect(() => checkBroadcastId('has space', '--id')).toThrow(
      new CliError('--id must be 1–80 letters, digits, "-" or "_", not "has space"'),
    );
    expect(checkBroadcastId('b-1_ok')).toBe('b-1_ok');
  });
});

/**
 * The message of `swarmcast send` and of the local console, from --message, --message-json or
 * --file, checked by Prepare's own parser before any execution starts.
 */
import { readFile } from 'node:fs/promises';
import { parseBroadcastRequest } from '#commons/broadcast-request';
import { InvalidBroadcastError } from '#commons/errors';
import { SwarmcastError } from './errors';

export interface PayloadOptions {
  message?: string;
  messageJson?: string;
  file?: string;
  /** Only this channel's members get it (docs/channels.md). */
  channel?: string;
}

/** The payload flags, as the command line spells them. */
const FLAGS = { message: '--message', messageJson: '--message-json', file: '--file' } as const;

/**
 * The partition count only bounds the partitions of a replay request; a message request
 * never reads it, and the CLI does not know the deployed count (Prepare checks it again).
 */
const ANY_PARTITION_COUNT = Number.MAX_SAFE_INTEGER;

/**
 * The execution input of `swarmcast send`, checked before anything starts: exactly one
 * source, valid JSON where JSON was asked for, not empty, and what Prepare would accept
 * (≤ 128 KB) — by the same parser Prepare runs.
 */
export async function readBroadcastInput(options: PayloadOptions): Promise<{ message: unknown; channel?: string }> {
  const given = (['message', 'messageJson', 'file'] as const).filter((source) => options[source] !== undefined);
  if (given.length !== 1) {
    throw new SwarmcastError(
      `give the message with exactly one of --message TEXT, --message-json JSON or --file PATH${given.length > 1 ? ` (got ${given.map((s) => FLAGS[s]).join(' and ')})` : ''}`,
    );
  }
  const message = await readMessage(options);
  if (message === '' || message === null) {
    throw new SwarmcastError(`the message is empty: give the text to send with --message, --message-json or --file`);
  }
  return checkMessage(message, options.channel);
}

/**
 * The execution input for `message` as the library's broadcast() takes it — text or any JSON value,
 * not empty — checked by the parser Prepare runs (≤ 128 KB, and the channel's name), so a rejected message starts nothing.
 */
export function checkMessage(message: unknown, channel?: string): { message: unknown; channel?: string } {
  if (message === '' || message === null || message === undefined) {
    throw new SwarmcastError(
      `the message is empty (${JSON.stringify(message) ?? 'undefined'}): give the text or JSON value to send`,
    );
  }
  const input = channel === undefined ? { message } : { message, channel };
  try {
    parseBroadcastRequest(input, ANY_PARTITION_COUNT);
  } catch (error) {
    if (error instanceof InvalidBroadcastError) throw new SwarmcastError(`cannot send: ${error.message}`);
    throw error;
  }
  return input;
}

async function readMessage({ message, messageJson, file }: PayloadOptions): Promise<unknown> {
  if (message !== undefined) return message;
  if (messageJson !== undefined) return parseJson(messageJson, '--message-json');
  const bytes = await readFile(file!).catch((error: NodeJS.ErrnoException) => {
    throw new SwarmcastError(`cannot read --file ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  const text = utf8Text(bytes, file!);
  // A .json file is a JSON value to send; any other file is text, sent as it is.
  return file!.toLowerCase().endsWith('.json') ? parseJson(text, `--file ${file}`) : text;
}

/**
 * The file as UTF-8 text. Bytes that are not UTF-8 are refused rather than replaced with U+FFFD:
 * a WebSocket text message must be UTF-8, and a silent replacement would send something else.
 */
function utf8Text(bytes: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8Offset(bytes);
    throw new SwarmcastError(
      `--file ${file} is not UTF-8 text (from byte offset ${offset}); a WebSocket text message must be UTF-8: convert the file first, e.g. iconv -f latin1 -t utf-8`,
    );
  }
}

/** Where the first sequence that is not UTF-8 starts: found by halving, then stepping back to a whole character. */
function firstInvalidUtf8Offset(bytes: Buffer): number {
  // Streaming, a prefix that ends inside a character is still valid: only a wrong byte fails it.
  const valid = (end: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let [low, high] = [0, bytes.length];
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (valid(middle)) low = middle;
    else high = middle - 1;
  }
  // The bad sequence starts where the last whole character before `low` ends (at most 3 bytes back).
  const complete = (end: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end));
      return true;
    } catch {
      return false;
    }
  };
  let start = low;
  while (start > 0 && !complete(start)) start--;
  return start;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SwarmcastError(`${source} is not valid JSON (${(error as Error).message}); for plain text use --message`);
  }
}

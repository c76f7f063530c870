/**
 * The execution names the CLI makes and checks: broadcast, sweep and replay ids. A broadcast's
 * id is its execution's name (Prepare uses `$$.Execution.Name`), so every id here must be a
 * valid execution name: 1–80 letters, digits, "-" or "_".
 */
import { randomBytes } from 'node:crypto';
import { InvalidBroadcastError } from '#commons/errors';
import { parseBroadcastId } from '#commons/broadcast-request';
import { SwarmcastError } from './errors';

/** UTC, sortable and readable: 20260502-101530. */
function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** `b-20260502-101530-3f9a1c`: the random tail keeps two sends in the same second apart. */
export function newBroadcastId(now = new Date()): string {
  return `b-${stamp(now)}-${randomBytes(3).toString('hex')}`;
}

export function newSweepId(now = new Date()): string {
  return `sweep-${stamp(now)}-${randomBytes(3).toString('hex')}`;
}

const REPLAY = /^(.+)-replay-(\d+)$/;

export function replayId(broadcastId: string, n: number): string {
  return `${broadcastId}-replay-${n}`;
}

/** N of `<broadcastId>-replay-N`, or undefined when `id` is not a replay of that broadcast. */
export function replayNumber(broadcastId: string, id: string): number | undefined {
  const match = REPLAY.exec(id);
  return match && match[1] === broadcastId ? Number(match[2]) : undefined;
}

/** An id given on the command line, checked by the same rule Prepare applies. */
export function checkBroadcastId(id: string, flag = 'the broadcast id'): string {
  try {
    return parseBroadcastId(id);
  } catch (error) {
    if (error instanceof InvalidBroadcastError)
      throw new SwarmcastError(`${flag} must be 1–80 letters, digits, "-" or "_", not ${JSON.stringify(id)}`);
    throw error;
  }
}

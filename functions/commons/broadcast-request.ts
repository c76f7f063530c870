/**
 * The input of the broadcast state machine, parsed and checked, and the frame clients get when
 * broadcastIdEnvelope is on. The same parser runs in the Prepare task and in the CLI before it
 * starts anything.
 */
import { InvalidChannelError, parseChannelName } from '#commons/channels';
import { MAX_MESSAGE_BYTES } from '#commons/constants';
import { InvalidBroadcastError } from '#commons/errors';

/** What an execution of the broadcast state machine can be asked to do. */
export type BroadcastRequest =
  /** With `channel`, to that channel's members only (docs/channels.md). */
  | { kind: 'message'; message: string; channel?: string }
  /** Partitions to visit again; with `failedSockets`, also the failed sockets of the reached ones (every partition unless listed). */
  | { kind: 'replay'; broadcastId: string; partitions?: number[]; failedSockets: boolean }
  | { kind: 'sweep' };

const SHAPES =
  '{"message": text or JSON} to broadcast (with "channel": name, to that channel\'s members), {"broadcastId": id, "partitions": [n, ...]} to replay partitions, {"broadcastId": id, "failedSockets": true} to replay the failed sockets (and the partitions not reached), or {"kind": "sweep"}';
const BROADCAST_ID = /^[A-Za-z0-9_-]{1,80}$/;

export function parseBroadcastRequest(input: unknown, partitionCount: number): BroadcastRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidBroadcastError(`the input must be a JSON object: ${SHAPES}`);
  }
  const fields = input as Record<string, unknown>;
  const keys = Object.keys(fields);
  const allowOnly = (allowed: string[]) => {
    const unknown = keys.filter((key) => !allowed.includes(key));
    if (unknown.length > 0)
      throw new InvalidBroadcastError(
        `unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}; the input is ${SHAPES}`,
      );
  };

  if (fields.kind === 'sweep') {
    allowOnly(['kind']);
    return { kind: 'sweep' };
  }
  if (fields.kind !== undefined && fields.kind !== 'message') {
    throw new InvalidBroadcastError(`"kind" must be "message" or "sweep", not ${JSON.stringify(fields.kind)}`);
  }
  if ('broadcastId' in fields || 'partitions' in fields || 'failedSockets' in fields) {
    allowOnly(['broadcastId', 'partitions', 'failedSockets', 'kind']);
    const broadcastId = parseBroadcastId(fields.broadcastId);
    if (fields.failedSockets !== undefined && fields.failedSockets !== true && fields.failedSockets !== false) {
      throw new InvalidBroadcastError(
        `"failedSockets" must be true or false, not ${JSON.stringify(fields.failedSockets)}`,
      );
    }
    const failedSockets = fields.failedSockets === true;
    if (failedSockets && fields.partitions === undefined) return { kind: 'replay', broadcastId, failedSockets };
    return {
      kind: 'replay',
      broadcastId,
      partitions: parsePartitions(fields.partitions, partitionCount),
      failedSockets,
    };
  }
  allowOnly(['message', 'kind', 'channel']);
  const message = messageText(fields.message);
  return fields.channel === undefined
    ? { kind: 'message', message }
    : { kind: 'message', message, channel: channelOf(fields.channel) };
}

export function parseBroadcastId(value: unknown): string {
  if (typeof value !== 'string' || !BROADCAST_ID.test(value)) {
    throw new InvalidBroadcastError(
      `"broadcastId" must be 1–80 letters, digits, "-" or "_", not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function parsePartitions(value: unknown, partitionCount: number): number[] {
  const allowed = `a non-empty list of distinct partition numbers from 0 to ${partitionCount - 1}`;
  if (!Array.isArray(value) || value.length === 0) throw new InvalidBroadcastError(`"partitions" must be ${allowed}`);
  const bad = value.filter((p) => !Number.isInteger(p) || p < 0 || p >= partitionCount);
  if (bad.length > 0)
    throw new InvalidBroadcastError(
      `"partitions" has ${bad
        .slice(0, 5)
        .map((p) => JSON.stringify(p))
        .join(', ')}; it must be ${allowed}`,
    );
  if (new Set(value).size !== value.length)
    throw new InvalidBroadcastError(`"partitions" lists a partition twice; it must be ${allowed}`);
  return [...(value as number[])].sort((a, b) => a - b);
}

function channelOf(value: unknown): string {
  try {
    return parseChannelName(value, '"channel"');
  } catch (error) {
    if (error instanceof InvalidChannelError) throw new InvalidBroadcastError(error.message);
    throw error;
  }
}

/** Text goes out as it is; any other JSON value goes out serialized. */
function messageText(message: unknown): string {
  if (message === undefined || message === null || message === '') {
    throw new InvalidBroadcastError(`"message" is required: ${SHAPES}`);
  }
  const text = typeof message === 'string' ? message : JSON.stringify(message);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new InvalidBroadcastError(
      `"message" is ${bytes.toLocaleString('en-US')} bytes; a WebSocket message can carry at most ${MAX_MESSAGE_BYTES.toLocaleString('en-US')} bytes (128 KB)`,
    );
  }
  return text;
}

/**
 * The frame every client gets when broadcastIdEnvelope is on: the broadcast id beside the message
 * text, so a client drops a frame whose id it has seen. The frame, not only the text, must fit
 * in one WebSocket message.
 */
export function frameWithBroadcastId(broadcastId: string, message: string): string {
  const frame = JSON.stringify({ broadcastId, message });
  const bytes = Buffer.byteLength(frame, 'utf8');
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new InvalidBroadcastError(
      `"message" in its broadcast-id envelope is ${bytes.toLocaleString('en-US')} bytes; a WebSocket message can carry at most ${MAX_MESSAGE_BYTES.toLocaleString('en-US')} bytes (128 KB): shorten the message by ${(bytes - MAX_MESSAGE_BYTES).toLocaleString('en-US')} bytes`,
    );
  }
  return frame;
}

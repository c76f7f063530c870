/**
 * The client helper (client/swarmcast-client.ts) on jest's fake timers and a fake socket: when it
 * pings, reconnects and recycles, and which broadcasts it drops.
 */
import { AWS_LIMITS } from '#commons/aws-limits';
import { frameWithBroadcastId } from '#commons/broadcast-request';
import {
  IDLE_TIMEOUT_MS,
  KEEP_ALIVE_INTERVAL_MS,
  KEEP_ALIVE_MESSAGE,
  MAX_CONNECTION_MS,
  RECYCLE_AFTER_MS,
  envelopeOf,
} from '../../../client/protocol';
import { SwarmcastClient, type SwarmcastClientOptions } from '../../../client/swarmcast-client';
import { FakeSocket } from '../helpers/fake-socket';

const MINUTE = 60_000;

const latest = () => FakeSocket.all[FakeSocket.all.length - 1];

function startClient(options: Partial<SwarmcastClientOptions> = {}, random = () => 0.5) {
  const received: [string, string | undefined][] = [];
  const closes: number[] = [];
  const client = new SwarmcastClient({
    url: 'wss://example/live',
    WebSocket: FakeSocket,
    onMessage: (message, id) => received.push([message, id]),
    onClose: ({ reconnectInMs }) => closes.push(reconnectInMs),
    random,
    ...options,
  });
  client.start();
  return { client, received, closes };
}

beforeEach(() => {
  jest.useFakeTimers();
  FakeSocket.all = [];
});
afterEach(() => jest.useRealTimers());

test("the protocol's timings sit inside API Gateway's: a keep-alive well before the idle timeout, a planned reconnect before the 2-hour close", () => {
  expect(IDLE_TIMEOUT_MS).toBe(AWS_LIMITS.webSocketIdleTimeoutSeconds.value * 1000);
  expect(MAX_CONNECTION_MS).toBe(AWS_LIMITS.webSocketMaxConnectionSeconds.value * 1000);
  expect(KEEP_ALIVE_INTERVAL_MS.max).toBeLessThanOrEqual(IDLE_TIMEOUT_MS - 30_000);
  expect(RECYCLE_AFTER_MS.max).toBeLessThan(MAX_CONNECTION_MS);
  expect(KEEP_ALIVE_MESSAGE).toBe('{"action":"ping"}');
});

test('keep-alive: {"action":"ping"} at a jittered 8.5–9.5 minutes after the last message sent, and again after each', () => {
  let r = 0;
  startClient({}, () => r);
  const socket = latest();
  socket.accept();

  jest.advanceTimersByTime(8.5 * MINUTE - 1);
  expect(socket.sent).toEqual([]);
  r = 1; // the next interval draws the top of the range
  jest.advanceTimersByTime(1);
  expect(socket.sent).toEqual([KEEP_ALIVE_MESSAGE]);

  jest.advanceTimersByTime(9.5 * MINUTE - 1);
  expect(socket.sent).toHaveLength(1);
  jest.advanceTimersByTime(1);
  expect(socket.sent).toHaveLength(2);
});

test("the application's own message counts as traffic: the next keep-alive waits a full interval from it", () => {
  const { client } = startClient({}, () => 0);
  const socket = latest();
  socket.accept();

  jest.advanceTimersByTime(8 * MINUTE);
  expect(client.send('hello')).toBe(true);
  jest.advanceTimersByTime(8.5 * MINUTE - 1);

  expect(socket.sent).toEqual(['hello']);
  jest.advanceTimersByTime(1);
  expect(socket.sent).toEqual(['hello', KEEP_ALIVE_MESSAGE]);
});

test('reconnect: full jitter over a ceiling doubling from 1 s to 60 s, back to 1 s after a socket opens', () => {
  const { closes } = startClient({}, () => 1); // the top of each range: the ceiling itself
  latest().accept();
  latest().drop();

  const waits: number[] = [];
  for (let failure = 0; failure < 8; failure++) {
    const before = FakeSocket.all.length;
    let waited = 0;
    while (FakeSocket.all.length === before) {
      jest.advanceTimersByTime(1_000);
      waited += 1_000;
    }
    waits.push(waited);
    latest().drop(); // refused again
  }
  expect(closes).toEqual([1_000]);
  expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);

  jest.advanceTimersByTime(60_000);
  latest().accept();
  latest().drop();
  expect(closes).toEqual([1_000, 1_000]);
});

test('planned reconnect: a second socket at a random 100–115 minutes; the first closes (1000) only once it is open', () => {
  startClient({}, () => 0.5);
  const first = latest();
  first.accept();

  jest.advanceTimersByTime(107.5 * MINUTE - 1);
  expect(FakeSocket.all).toHaveLength(1);
  jest.advanceTimersByTime(1);
  expect(FakeSocket.all).toHaveLength(2);
  expect(first.closedWith).toBeUndefined();

  latest().accept();
  expect(first.closedWith).toEqual({ code: 1000, reason: 'reconnecting before the 2-hour limit' });
});

test('a planned reconnect that fails keeps the current socket and tries again after the backoff', () => {
  startClient({}, () => 0);
  const first = latest();
  first.accept();
  jest.advanceTimersByTime(RECYCLE_AFTER_MS.min);
  latest().drop();

  jest.advanceTimersByTime(0);
  expect(FakeSocket.all).toHaveLength(3);
  expect(first.closedWith).toBeUndefined();
  latest().accept();
  expect(first.closedWith?.code).toBe(1000);
});

test('a broadcast whose id was seen is dropped; bare messages pass as they are; ids are remembered up to rememberIds', () => {
  const { client, received } = startClient({ rememberIds: 2 });
  const socket = latest();
  socket.accept();

  socket.deliver(frameWithBroadcastId('b-1', 'hello'));
  socket.deliver(frameWithBroadcastId('b-1', 'hello'));
  socket.deliver('plain text');
  socket.deliver(frameWithBroadcastId('b-2', '{"a":1}'));
  socket.deliver(frameWithBroadcastId('b-3', 'third'));
  socket.deliver(frameWithBroadcastId('b-1', 'hello')); // forgotten: the two newest are b-2 and b-3

  expect(received).toEqual([
    ['hello', 'b-1'],
    ['plain text', undefined],
    ['{"a":1}', 'b-2'],
    ['third', 'b-3'],
    ['hello', 'b-1'],
  ]);
  expect(client.repeatsDropped).toBe(1);
});

test('a repeat that arrives on the replacement socket during a planned reconnect is dropped too', () => {
  const { received } = startClient({}, () => 0);
  const first = latest();
  first.accept();
  jest.advanceTimersByTime(RECYCLE_AFTER_MS.min);
  const second = latest();
  second.accept();

  first.deliver(frameWithBroadcastId('b-9', 'once'));
  second.deliver(frameWithBroadcastId('b-9', 'once'));

  expect(received).toEqual([['once', 'b-9']]);
});

test('close(): no reconnect, no keep-alive, nothing delivered after it', () => {
  const { client, received } = startClient();
  const socket = latest();
  socket.accept();

  client.close();
  socket.deliver('late');
  jest.advanceTimersByTime(3 * 60 * MINUTE);

  expect(FakeSocket.all).toHaveLength(1);
  expect(socket.sent).toEqual([]);
  expect(received).toEqual([]);
  expect(jest.getTimerCount()).toBe(0);
});

test('envelopeOf reads only the broadcast-id envelope', () => {
  expect(envelopeOf('{"broadcastId":"x","message":"m"}')).toEqual({ broadcastId: 'x', message: 'm' });
  expect(envelopeOf('{"broadcastId":"x"}')).toBeUndefined();
  expect(envelopeOf('{"broadcastId":"x",')).toBeUndefined();
  expect(envelopeOf('{"message":"m","broadcastId":"x"}')).toBeUndefined();
});

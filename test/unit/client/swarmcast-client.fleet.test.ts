/**
 * The client helper given a fleet (client/swarmcast-client.ts with client/fleet.ts), on jest's
 * fake timers and fake sockets: which cell it connects to, where it goes when a cell refuses or is
 * down, and that it returns to its first choice on its planned reconnect.
 */
import { RECONNECT_BACKOFF_MS, RECYCLE_AFTER_MS } from '../../../client/protocol';
import { parseFleet, rankCells } from '../../../client/fleet';
import {
  SwarmcastClient,
  type SwarmcastClientOptions,
  SwarmcastClientOptionsError,
} from '../../../client/swarmcast-client';
import { FakeSocket } from '../helpers/fake-socket';

const fleet = parseFleet({
  cells: ['eu', 'us', 'ap'].map((name) => ({ name, url: `wss://${name}.example/live`, region: 'eu-west-1' })),
});
const KEY = 'user-42';
/** This client's cells, first choice first: the ranking's own tests are in fleet.test.ts. */
const [first, second, third] = rankCells(fleet, KEY).map((cell) => cell.url);
const latest = () => FakeSocket.all[FakeSocket.all.length - 1];
const urls = () => FakeSocket.all.map((socket) => socket.url);

function startClient(options: Partial<SwarmcastClientOptions> = {}) {
  const opened: (string | undefined)[] = [];
  const client = new SwarmcastClient({
    fleet,
    clientKey: KEY,
    WebSocket: FakeSocket,
    onMessage: () => undefined,
    onOpen: ({ cell }) => opened.push(cell?.name),
    random: () => 0, // no backoff wait, planned reconnect at RECYCLE_AFTER_MS.min
    ...options,
  });
  client.start();
  return { client, opened };
}

beforeEach(() => {
  jest.useFakeTimers();
  FakeSocket.all = [];
});
afterEach(() => jest.useRealTimers());

test('connects to its first choice and says which cell it is on', () => {
  const { client, opened } = startClient();

  latest().accept();

  expect(urls()).toEqual([first]);
  expect(client.cell?.url).toBe(first);
  expect(opened).toEqual([client.cell?.name]);
});

test('a refused or failed handshake moves it to the next cell of its ranking, after the backoff, round the ranking', () => {
  startClient({ random: () => 1 }); // each wait is the backoff's ceiling: 1 s, 2 s, 4 s

  latest().drop(); // first choice: 429 on the handshake
  jest.advanceTimersByTime(RECONNECT_BACKOFF_MS.base - 1);
  expect(urls()).toEqual([first]);
  jest.advanceTimersByTime(1);
  expect(urls()).toEqual([first, second]);

  latest().drop(); // second choice is down
  jest.advanceTimersByTime(2 * RECONNECT_BACKOFF_MS.base);
  latest().drop();
  jest.advanceTimersByTime(4 * RECONNECT_BACKOFF_MS.base);

  expect(urls()).toEqual([first, second, third, first]);
});

test('an open socket that is lost reconnects to the cell that served it', () => {
  const { client } = startClient();
  latest().drop(); // first choice refuses
  jest.advanceTimersByTime(0);
  latest().accept(); // on the second choice

  latest().drop(1006); // the network drops it
  jest.advanceTimersByTime(0);

  expect(urls()).toEqual([first, second, second]);
  latest().accept();
  expect(client.cell?.url).toBe(second);
});

test('a client a failover moved returns to its first choice on its planned reconnect, and only then leaves the cell that served it', () => {
  const { client, opened } = startClient();
  latest().drop(); // first choice refuses
  jest.advanceTimersByTime(0);
  const onSecond = latest();
  onSecond.accept();
  expect(client.cell?.url).toBe(second);

  jest.advanceTimersByTime(RECYCLE_AFTER_MS.min);
  expect(urls()).toEqual([first, second, first]);
  expect(onSecond.closedWith).toBeUndefined();
  latest().accept();

  expect(client.cell?.url).toBe(first);
  expect(onSecond.closedWith?.code).toBe(1000);
  expect(opened.map((name) => fleet.cells.find((cell) => cell.name === name)?.url)).toEqual([second, first]);
});

test('a planned reconnect its first choice refuses goes on down the ranking, keeping the open socket meanwhile', () => {
  startClient();
  latest().drop(); // first choice refuses
  jest.advanceTimersByTime(0);
  const onSecond = latest();
  onSecond.accept();

  jest.advanceTimersByTime(RECYCLE_AFTER_MS.min);
  latest().drop(); // first choice still refuses
  jest.advanceTimersByTime(0);

  expect(urls()).toEqual([first, second, first, second]);
  expect(onSecond.closedWith).toBeUndefined();
});

test('urlFor gives the URL of each connect (a fresh token, say)', () => {
  let n = 0;
  startClient({ urlFor: (cell) => `${cell.url}?token=${++n}` });
  latest().drop();
  jest.advanceTimersByTime(0);

  expect(urls()).toEqual([`${first}?token=1`, `${second}?token=2`]);
});

test.each([
  ['url and fleet', { url: 'wss://one.example/live', fleet }, /give either url .+ or fleet .+, not both or neither/],
  ['neither url nor fleet', {}, /give either url .+ or fleet .+, not both or neither/],
  ['an empty clientKey', { fleet, clientKey: '' }, /^clientKey must be a non-empty string, got ""$/],
])('refuses %s, saying what is allowed', (_, options, message) => {
  const make = () =>
    new SwarmcastClient({ WebSocket: FakeSocket, onMessage: () => undefined, ...options } as SwarmcastClientOptions);

  expect(make).toThrow(SwarmcastClientOptionsError);
  expect(make).toThrow(message);
});

/**
 * Issue 23 on the local stack: a fleet of 3 cells, each a whole local stack with its own throttle,
 * and the coordinator running statemachines/fleet.asl.json — real sockets, real SDK clients. One
 * fleet broadcast reaches every client of every cell once; a cell with refused sockets is replayed
 * alone, to exactly those sockets; a cell stopped mid-broadcast is named, and the others deliver.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { ClientSwarm } from '../../../local/clients/swarm';
import { localSfnClient } from '../../../local/demo';
import { type LocalFleet, startLocalFleet } from '../../../local/fleet';
import {
  type FleetTarget,
  readFleetStatus,
  replayFleetBroadcast,
  resolveFleet,
  startFleetBroadcast,
  waitForFleetBroadcast,
} from '../../../lib/fleet';
import { reportAfterDrain, runCli, waitUntil } from '../helpers/broadcasts';
import { startFleetConsole } from '../../../local/console/server';

const CLIENTS_PER_CELL = 40;
/** cell-2 refuses posts to about one socket in eight while this is true. */
let refusing = false;
const refused = new Set<string>();
const refuses = (connectionId: string) => createHash('sha256').update(connectionId).digest()[0] % 8 === 0;
/** cell-3's account throttle is low, so its broadcast is still running when the test stops it. */
const SLOW_CELL_QUOTA = { ratePerSecond: 10, burst: 5 };

let localFleet: LocalFleet;
let swarms: ClientSwarm[];
let tempDir: string;
let fleetFile: string;
let target: FleetTarget;

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'swarmcast-fleet-'));
  localFleet = await startLocalFleet({
    cells: 3,
    pollMs: 50,
    cell: (index) => ({
      config: { partitions: 8, partitionsPerChild: 2, shards: 2, connectionIdsPerMessage: 10 },
      progressPollMs: 50,
      ...(index === 1 && {
        connectionsFaults: (method: string, connectionId: string) => {
          if (method !== 'POST' || !refusing || !refuses(connectionId)) return undefined;
          refused.add(connectionId);
          return 403;
        },
      }),
      ...(index === 2 && { quota: SLOW_CELL_QUOTA }),
    }),
  });
  fleetFile = path.join(tempDir, 'fleet.json');
  await writeFile(fleetFile, JSON.stringify(localFleet.fleet));
  target = await resolveFleet(fleetFile);
  swarms = await Promise.all(
    localFleet.cells.map(({ stack }) => ClientSwarm.connect(stack.webSocketUrl, CLIENTS_PER_CELL)),
  );
}, 240_000);

afterAll(async () => {
  for (const swarm of swarms ?? []) {
    await swarm.close().catch(() => {});
    await swarm.stop();
  }
  target?.close();
  await localFleet?.stop();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
}, 120_000);

const drained = (index: number) => reportAfterDrain({ stack: localFleet.cells[index].stack, swarm: swarms[index] });

test('one fleet broadcast reaches every client of every cell exactly once, and sums them up per cell and in total', async () => {
  // act
  await Promise.all(swarms.map((swarm) => swarm.watch('fleet-once')));
  const started = await startFleetBroadcast(target, 'fleet-once', { id: 'fleet-once' });
  const status = await waitForFleetBroadcast(target, started.id);
  const reports = await Promise.all(swarms.map((_, index) => drained(index)));

  // assess: each cell started once under <fleet id>-<cell>, every socket has the message once
  expect(status.status).toBe('SUCCEEDED');
  expect(status.summary).toMatchObject({
    fleetId: 'fleet-once',
    total: { connections: 3 * CLIENTS_PER_CELL, delivered: 3 * CLIENTS_PER_CELL, gone: 0, failed: 0 },
    cellsNotFinished: [],
    cellsWithFailedSockets: [],
  });
  expect(status.summary!.cells.map(({ cell, status }) => [cell, status])).toEqual([
    ['cell-1', 'SUCCEEDED'],
    ['cell-2', 'SUCCEEDED'],
    ['cell-3', 'SUCCEEDED'],
  ]);
  for (const report of reports)
    expect(report).toMatchObject({ open: CLIENTS_PER_CELL, received: CLIENTS_PER_CELL, duplicates: 0 });
  for (const { name, stack } of localFleet.cells) {
    const sfn = localSfnClient(stack);
    const { executions = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn }));
    sfn.destroy();
    expect(executions.map(({ name }) => name)).toEqual([`fleet-once-${name}`]);
  }
}, 120_000);

test('the fleet console lists the cells and shows a fleet broadcast per cell, as `status --fleet` reads it', async () => {
  // prepare
  const webConsole = await startFleetConsole({ fleet: target });
  // biome-ignore lint/suspicious/noExplicitAny: the console's JSON, asserted field by field below
  const get = async (path: string): Promise<any> => (await fetch(new URL(path, webConsole.url))).json();
  try {
    // act
    const fleet = await get('/api/fleet');
    const broadcast = await get('/api/fleet/broadcasts/fleet-once');
    const page = await fetch(webConsole.url);

    // assess
    expect(fleet.cells.map(({ name }: { name: string }) => name)).toEqual(['cell-1', 'cell-2', 'cell-3']);
    expect(fleet.broadcasts).toEqual([
      expect.objectContaining({ id: 'fleet-once', status: 'SUCCEEDED', cellsNotFinished: [] }),
    ]);
    expect(broadcast).toMatchObject({ id: 'fleet-once', outcome: 'complete' });
    expect(
      broadcast.cells.map(({ cell, counts }: { cell: string; counts: { delivered: number } }) => [
        cell,
        counts.delivered,
      ]),
    ).toEqual([
      ['cell-1', CLIENTS_PER_CELL],
      ['cell-2', CLIENTS_PER_CELL],
      ['cell-3', CLIENTS_PER_CELL],
    ]);
    expect(await page.text()).toContain('<script type="module" src="/fleet.js"></script>');
  } finally {
    await webConsole.stop();
  }
}, 60_000);

test("a cell with refused sockets: the fleet names it, and the fleet replay re-runs that cell's failed sockets only", async () => {
  // act: cell-2 refuses about one socket in eight
  refusing = true;
  await Promise.all(swarms.map((swarm) => swarm.watch('fleet-refused')));
  const started = await startFleetBroadcast(target, 'fleet-refused', { id: 'fleet-refused' });
  const status = await waitForFleetBroadcast(target, started.id);
  const before = await Promise.all(swarms.map((_, index) => drained(index)));

  // assess: cell-2 ended DeliveryIncomplete with its counts; the others delivered everything
  const failed = refused.size;
  expect(failed).toBeGreaterThan(0);
  expect(status.summary).toMatchObject({
    total: { connections: 3 * CLIENTS_PER_CELL, delivered: 3 * CLIENTS_PER_CELL - failed, failed },
    cellsNotFinished: ['cell-2'],
    cellsWithFailedSockets: ['cell-2'],
  });
  expect(status.summary!.cells[1]).toMatchObject({ cell: 'cell-2', status: 'FAILED', error: 'DeliveryIncomplete' });
  expect(before.map(({ received }) => received)).toEqual([
    CLIENTS_PER_CELL,
    CLIENTS_PER_CELL - failed,
    CLIENTS_PER_CELL,
  ]);

  // act: the cause fixed, the fleet replay
  refusing = false;
  const replayed = await replayFleetBroadcast(target, started.id);
  await waitUntil(async () => (await readFleetStatus(target, started.id)).status !== 'RUNNING');
  const cell2 = localFleet.cells[1].stack;
  const cell2Sfn = localSfnClient(cell2);
  await waitUntil(async () => {
    const { executions = [] } = await cell2Sfn.send(
      new ListExecutionsCommand({ stateMachineArn: cell2.stateMachineArn }),
    );
    return executions.some(({ name, status }) => name === 'fleet-refused-cell-2-replay-1' && status !== 'RUNNING');
  });
  cell2Sfn.destroy();
  const after = await Promise.all(swarms.map((_, index) => drained(index)));

  // assess: only cell-2 replayed, and every socket of every cell has the message exactly once
  expect(replayed.cells.map(({ cell, outcome }) => [cell, outcome.action])).toEqual([['cell-2', 'start']]);
  expect(replayed.notReplayable).toEqual([]);
  for (const report of after) expect(report).toMatchObject({ received: CLIENTS_PER_CELL, duplicates: 0 });
}, 120_000);

test('a cell stopped mid-broadcast: `send --fleet --wait` exits 2 naming it, and the other cells deliver', async () => {
  // act: the CLI sends; cell-3 (slow by its throttle) is stopped once its broadcast runs
  await Promise.all(swarms.map((swarm) => swarm.watch('fleet-stopped')));
  const registry = path.join(tempDir, 'registry');
  const sending = runCli(
    ['send', '--fleet', fleetFile, '--message', 'fleet-stopped', '--id', 'fleet-stopped', '--wait'],
    registry,
  );
  const cell3 = localFleet.cells[2].stack;
  const cell3Sfn = localSfnClient(cell3);
  await waitUntil(async () => {
    const { executions = [] } = await cell3Sfn.send(
      new ListExecutionsCommand({ stateMachineArn: cell3.stateMachineArn, statusFilter: 'RUNNING' }),
    );
    return executions.some(({ name }) => name === 'fleet-stopped-cell-3');
  });
  cell3Sfn.destroy();
  await cell3.stop();
  const sent = await sending;
  const reports = await Promise.all([0, 1].map((index) => drained(index)));

  // assess
  expect(sent.code).toBe(2);
  expect(sent.stdout).toMatch(/cell-3\s+UNREACHABLE/);
  expect(sent.stdout).toContain('cells that did not finish: cell-3');
  const status = await readFleetStatus(target, 'fleet-stopped');
  expect(status.summary!.cells.map(({ cell, status }) => [cell, status])).toEqual([
    ['cell-1', 'SUCCEEDED'],
    ['cell-2', 'SUCCEEDED'],
    ['cell-3', 'UNREACHABLE'],
  ]);
  for (const report of reports) expect(report).toMatchObject({ received: CLIENTS_PER_CELL, duplicates: 0 });
}, 120_000);

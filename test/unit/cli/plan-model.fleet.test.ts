/**
 * `swarmcast plan --cells K` and `--target-seconds T` (cli/plan-model.ts planFleet and
 * cellsForTarget): N sockets over K cells, each its own account or Region with the quota to itself.
 */
import { AWS_LIMITS } from '#commons/aws-limits';
import { MAX_FLEET_CELLS } from '../../../client/fleet';
import {
  cellsForTarget,
  DEFAULT_QUOTA,
  FleetPlanError,
  MAX_PLAN_CELLS,
  PLAN_ASSUMPTIONS,
  planBroadcast,
  planFleet,
} from '../../../cli/plan-model';
import { resolveConfig } from '../../../infra/config';
import { runCli } from '../helpers/run-cli';
import { FLEET_POLL_SECONDS } from '../../../statemachines/fleet-contract';

const config = resolveConfig();
const base = { connections: 1_000_000, messageBytes: 1_024, quota: DEFAULT_QUOTA, config, site: 'aws' as const };
const CELLS = Array.from({ length: MAX_PLAN_CELLS }, (_, i) => i + 1);

describe('planFleet', () => {
  it('at 10 cells and 1M sockets, default quotas: ~10 s of delivery after the start-up, connected in 200 s, the cost of 10 broadcasts of 100,000 plus the coordinator', () => {
    const plan = planFleet({ ...base, cells: 10 });
    const oneCell = planBroadcast({ ...base, connections: 100_000 });

    expect(plan.connectionsPerCell).toBe(100_000);
    expect(plan.idealMs).toBe(10_000);
    // each cell at its budget (90 % of its quota), after the coordinator and the cell's start-up
    expect(plan.durationMs).toBe(PLAN_ASSUMPTIONS.aws.coordinatorMs.value + oneCell.durationMs);
    expect(plan.durationMs).toBeLessThanOrEqual(plan.idealMs / 0.9 + 10_000);
    expect(plan.connectRatePerSecond).toBe(10 * AWS_LIMITS.webSocketNewConnectionsPerSecond.value);
    expect(plan.connectMs).toBe(200_000);
    const coordinator = plan.costUsd.items.find((item) => item.item === 'coordinator state transitions')!;
    // start, Map, summary; per cell its child execution, StartCell, CellResult and a Wait/Describe/Choice per read while it runs
    const polls = Math.ceil(oneCell.durationMs / 1000 / FLEET_POLL_SECONDS.aws);
    expect(coordinator.quantity).toBe(3 + 10 * (3 + 3 * polls));
    expect(plan.costUsd.total).toBeCloseTo(10 * oneCell.costUsd.total + coordinator.usd, 10);
    expect(plan.costUsd.total).toBeCloseTo(
      plan.costUsd.items.reduce((sum, item) => sum + item.usd, 0),
      10,
    );
  });

  it('spreads an uneven N with cells one socket apart: every socket is billed once', () => {
    const plan = planFleet({ ...base, connections: 1_000_003, cells: 10 });

    expect(plan.connectionsPerCell).toBe(100_001);
    expect(plan.costUsd.items.find((item) => item.service === 'API Gateway')!.quantity).toBe(1_000_003);
  });

  it.each(CELLS)('K = %i: never below N / (K × quota), and no slower than one cell fewer', (cells) => {
    const plan = planFleet({ ...base, cells });

    expect(plan.durationMs).toBeGreaterThanOrEqual((1_000_000 / (cells * DEFAULT_QUOTA.ratePerSecond)) * 1000);
    if (cells > 1) expect(plan.durationMs).toBeLessThanOrEqual(planFleet({ ...base, cells: cells - 1 }).durationMs);
  });

  it(`bounds K at ${MAX_PLAN_CELLS}, the fleet file's bound`, () => {
    expect(MAX_PLAN_CELLS).toBe(MAX_FLEET_CELLS);
  });

  it.each([
    [0, /^cells must be a whole number from 1 to 40 \(the most one coordinator starts at once\), got 0$/],
    [41, /^cells must be a whole number from 1 to 40 .+, got 41$/],
    [2.5, /^cells must be a whole number from 1 to 40 .+, got 2.5$/],
  ])('refuses K = %p', (cells, message) => {
    expect(() => planFleet({ ...base, cells })).toThrow(FleetPlanError);
    expect(() => planFleet({ ...base, cells })).toThrow(message);
  });

  it('refuses more cells than sockets', () => {
    expect(() => planFleet({ ...base, connections: 3, cells: 5 })).toThrow(
      '5 cells for 3 sockets: every cell needs one at least; give at most 3 cells',
    );
  });
});

describe('cellsForTarget', () => {
  it.each([120, 60, 30, 10])('finds the fewest cells that make %i s at 1M sockets', (targetSeconds) => {
    const found = cellsForTarget(base, targetSeconds);

    expect(found.met).toBe(true);
    expect(found.plan.durationMs).toBeLessThanOrEqual(targetSeconds * 1000);
    if (found.plan.cells > 1)
      expect(planFleet({ ...base, cells: found.plan.cells - 1 }).durationMs).toBeGreaterThan(targetSeconds * 1000);
  });

  it('says when no fleet is fast enough: 40 cells are not', () => {
    const found = cellsForTarget(base, 5);

    expect(found).toMatchObject({ met: false, plan: { cells: 40 } });
    expect(found.met || found.advice).toMatch(
      /^1,000,000 sockets cannot be reached in 5 s by any fleet: 40 cells \(the most a fleet has\) take \d+\.\d s; raise each cell's quota/,
    );
  });

  it('says when the start-up alone is longer than the target', () => {
    const found = cellsForTarget(base, 1);

    expect(found.met || found.advice).toMatch(
      /the start-up alone \(the coordinator, then a cell's first delivery\) takes \d+\.\d s$/,
    );
  });

  it('never plans more cells than sockets', () => {
    expect(cellsForTarget({ ...base, connections: 3 }, 1).plan.cells).toBe(3);
  });
});

describe('swarmcast plan --cells / --target-seconds', () => {
  it('plan --cells 10 --connections 1000000 states the time and the cost at the default quotas', async () => {
    const { out } = await runCli('plan', ['--cells', '10', '--connections', '1000000']);

    expect(out).toMatch(
      /^plan: one fleet broadcast to 1,000,000 sockets over 10 cells on AWS, .+ up to 100,000 sockets and a quota of 10,000\/s \(burst 5,000\)$/m,
    );
    expect(out).toMatch(/^ {2}time to last delivery +1\d\.\d s \(ideal N\/\(K × quota\) 10\.0 s;/m);
    expect(out).toMatch(/^ {2}time to connect +3 min 20 s for all 1,000,000 sockets at 5,000 new connections\/s/m);
    expect(out).toMatch(/^ {2}Step Functions +coordinator state transitions +\d+ transitions/m);
    expect(out).toMatch(/^ {2}total +\$1\.\d\d$/m);
  });

  it('--json prints the fleet plan', async () => {
    const { out } = await runCli('plan', ['--cells', '4', '--connections', '100000', '--json']);

    expect(JSON.parse(out)).toMatchObject({ cells: 4, connectionsPerCell: 25_000, connectMs: 50_000 });
  });

  it('--target-seconds names the fewest cells, then their plan', async () => {
    const { out } = await runCli('plan', ['--target-seconds', '30', '--connections', '1000000']);

    const cells = cellsForTarget(base, 30).plan.cells;
    expect(out).toMatch(
      new RegExp(`^target 30 s: ${cells} cells \\(the fewest that make it\\)\n\nplan: one fleet broadcast`),
    );
  });

  it.each([
    [
      ['--cells', '0'],
      /^.*--cells must be a whole number from 1 to 40 \(a fleet's coordinator starts at most 40 cells at once; docs\/fleet\.md\)\.$/,
    ],
    [['--cells', '41'], /--cells must be a whole number from 1 to 40/],
    [
      ['--cells', '20', '--connections', '10'],
      /^--cells: 20 cells for 10 sockets: every cell needs one at least; give at most 10 cells$/,
    ],
    [
      ['--cells', '2', '--target-seconds', '30'],
      /option '--cells <k>' cannot be used with option '--target-seconds <s>'/,
    ],
    [['--target-seconds', '0'], /--target-seconds must be a whole number from 1 to 86,400\./],
    [
      ['--cells', '2', '--local'],
      /^--cells and --target-seconds plan cells on AWS; the local fleet .+ is not built yet: drop --local$/,
    ],
  ])('refuses %j in one line', async (args, message) => {
    const { error } = await runCli('plan', args.includes('--connections') ? args : [...args, '--connections', '1000']);

    expect(error).toMatch(message);
    expect(error).not.toContain('\n');
  });
});

import type { Command } from 'commander';
import { configFromSettings, parseQuota } from '../../../../cli/commands/plan';
import { CliError } from '../../../../cli/errors';
import { createProgram } from '../../../../cli/program';

/** Runs `swarmcast plan ...args`; returns what it printed, or the one-line error it stopped with. */
async function runPlan(args: string[]): Promise<{ out: string; error?: string }> {
  const program = createProgram();
  const planCommand = program.commands.find((command) => command.name() === 'plan') as Command;
  let errorText: string | undefined;
  for (const command of [program, planCommand]) {
    command.exitOverride().configureOutput({
      writeErr: (text) => (errorText ??= text.split('\n')[0]),
      writeOut: () => undefined,
      outputError: (text) => (errorText ??= text.split('\n')[0]),
    });
  }
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  try {
    await program.parseAsync(['node', 'swarmcast', 'plan', ...args]);
  } catch (error) {
    if (error instanceof CliError) errorText = error.message;
    else if (!errorText) throw error;
  } finally {
    log.mockRestore();
  }
  return { out: lines.join('\n'), error: errorText };
}

describe('swarmcast plan', () => {
  it("--channel-size prices a channel broadcast: its members over the channel's partitions, all sockets kept connected", async () => {
    const { out } = await runPlan(['--connections', '20000', '--channel-size', '200']);
    expect(out).toMatch(/^plan: one channel broadcast to 200 members \(of 20,000 sockets; 10 channel partitions\)/);
    expect(out).toMatch(/^ {2}@connections calls +200 \(/m);
    // One task per channel partition, not one per connection partition (2,500).
    expect(out).toMatch(/^ {2}delivery tasks +10 SQS messages$/m);
    expect(out).toMatch(/^keeping 20,000 sockets connected/m);
    const { error } = await runPlan(['--connections', '100', '--channel-size', '200']);
    expect(error).toBe(
      "--channel-size 200 is more than the 100 --connections: a channel's members are among the API's sockets",
    );
  });

  it('prints one JSON object with durationMs, calls and costUsd.total and its breakdown', async () => {
    const { out } = await runPlan(['--connections', '1000000', '--json']);
    const plan = JSON.parse(out);

    expect(plan.durationMs).toBeGreaterThan(100_000);
    expect(plan.calls).toBe(1_000_000);
    expect(plan.costUsd.total).toBeCloseTo(
      plan.costUsd.items.reduce((sum: number, item: { usd: number }) => sum + item.usd, 0),
      10,
    );
    expect(Object.keys(plan.costUsd.byService).sort()).toEqual([
      'API Gateway',
      'DynamoDB',
      'Lambda',
      'SQS',
      'Step Functions',
    ]);
  });

  it('prints a table: one line per cost item with its quantity and unit price, then the hourly connection cost', async () => {
    const { out } = await runPlan(['--connections', '1000000', '--message-bytes', '131072']);

    expect(out).toMatch(/^ {2}time to last delivery {2}11\d\.\d s \(ideal N\/quota 100\.0 s/m);
    expect(out).toMatch(
      /^ {2}API Gateway +messages, 4 × 32 KB per post +4,000,000 messages +\$1\.00 per million messages +\$4\.00$/m,
    );
    expect(out).toMatch(
      /^ {2}Step Functions +state transitions +\d+ transitions +\$0\.025 per thousand transitions +\$0\.\d{4}$/m,
    );
    expect(out).toContain(
      'keeping 1,000,000 sockets connected, per hour (not part of the broadcast): clients following client/protocol.ts send ~1,852 keep-alives/s and reconnect ~155/s',
    );
    expect(out).toMatch(
      /^ {2}API Gateway +connection minutes +60,000,000 minutes +\$0\.250 per million minutes +\$15\.00$/m,
    );
    expect(out).toMatch(
      /^ {2}API Gateway +keep-alive messages \(ping route, no Lambda\) +6,666,667 messages +\$1\.00 per million messages +\$6\.67$/m,
    );
  });

  it('--json states the standing cost per hour beside the broadcast', async () => {
    const { out } = await runPlan(['--connections', '1000000', '--json']);

    const plan = JSON.parse(out);
    expect(plan.costUsd.total).toBeGreaterThan(1);
    expect(plan.standing).toMatchObject({
      keepAlivesPerSecond: expect.closeTo(1_852, 0),
      reconnectsPerSecond: expect.closeTo(155, 0),
    });
    expect(plan.standing.perHour.byPart).toMatchObject({ connectionMinutes: 15, keepAlive: expect.closeTo(6.67, 2) });
  });

  it('takes the quota from the accountQuota settings, and the budget is 90 % of it', async () => {
    const { out } = await runPlan([
      '--connections',
      '100000',
      '--set',
      'accountQuotaRatePerSecond=2500',
      '--set',
      'accountQuotaBurst=1250',
      '--json',
    ]);

    expect(JSON.parse(out)).toMatchObject({ quota: { ratePerSecond: 2_500, burst: 1_250 }, budgetPerSecond: 2_250 });
  });

  it('applies --set over the defaults of infra/config.ts', async () => {
    const { out } = await runPlan([
      '--connections',
      '1000',
      '--set',
      'shards=20',
      '--set',
      'deliveryRatePerSecond=500',
      '--json',
    ]);

    expect(JSON.parse(out)).toMatchObject({ budgetPerSecond: 500, deliveryRatePerSecond: 500, limitedBy: 'budget' });
  });

  it.each([
    [['--json'], /required option '--connections <n>' not specified/],
    [['--connections', '0'], /--connections must be a whole number from 1 to 100,000,000\./],
    [['--connections', '10', '--quota', 'fast'], /--quota must be RATE or RATE\/BURST/],
    [
      ['--connections', '10', '--message-bytes', '200000'],
      /--message-bytes must be a whole number from 1 to 131,072\./,
    ],
    [['--connections', '10', '--set', 'shards'], /--set must be KEY=VALUE/],
    [
      ['--connections', '10', '--set', 'shardz=2'],
      /^--set: unknown swarmcast setting "shardz"; known settings: partitions, /,
    ],
    [
      ['--connections', '10', '--set', 'shards=0'],
      /^--set: swarmcast setting shards=0 must be an integer from 1 to 50$/,
    ],
  ])('refuses %j in one line', async (args, expected) => {
    const { error } = await runPlan(args);

    expect(error).toMatch(expected);
    expect(error).not.toContain('\n');
  });
});

describe('swarmcast plan --help', () => {
  it('is listed with the other commands and documents its flags', () => {
    const program = createProgram();
    const help = program.commands.find((command) => command.name() === 'plan')!.helpInformation();

    expect(program.helpInformation()).toMatch(/^ {2}plan /m);
    for (const flag of [
      '--connections <n>',
      '--quota <rate[/burst]>',
      '--message-bytes <b>',
      '--deadline-seconds <s>',
      '--set <key=value>',
      '--local',
      '--json',
    ])
      expect(help).toContain(flag);
  });
});

describe('parseQuota', () => {
  it('reads RATE/BURST, and gives a rate alone half of it as burst, as AWS does', () => {
    expect(parseQuota('2000/1000')).toEqual({ ratePerSecond: 2_000, burst: 1_000 });
    expect(parseQuota('10_000')).toEqual({ ratePerSecond: 10_000, burst: 5_000 });
  });

  it.each(['off', '0', '10/0', '1.5', '-3', ''])('refuses %j', (value) => {
    expect(() => parseQuota(value)).toThrow(/--quota must be RATE or RATE\/BURST/);
  });
});

describe('configFromSettings', () => {
  it('turns numeric strings into numbers and remembers which keys were given', () => {
    const { config, explicit } = configFromSettings(['shards=20', 'partitions=5000']);

    expect(config).toMatchObject({ shards: 20, partitions: 5_000, mapMaxConcurrency: 100 });
    expect([...explicit]).toEqual(['shards', 'partitions']);
  });
});

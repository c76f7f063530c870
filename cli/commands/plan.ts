/**
 * `swarmcast plan`: what one broadcast to N sockets will take — time, @connections calls, Lambda
 * concurrency, cost — before sending it; with --cells or --target-seconds, the same over a fleet of
 * cells (docs/fleet.md). The arithmetic is in ../plan-model.ts; this file reads the flags and prints
 * the result.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { AWS_LIMITS } from '#commons/aws-limits';
import type { SwarmcastConfig } from '../../infra/config';
import { collectSetting, overridesFromSettings, SET_OPTION_HELP } from '../settings';
import { formatCount, formatDuration } from '../../lib/format';
import { parsePositiveInteger } from '../options';
import { CliError } from '../errors';
import {
  budgetFor,
  cellsForTarget,
  DEFAULT_QUOTA,
  type FleetForTarget,
  type FleetPlan,
  FleetPlanError,
  MAX_PLAN_CELLS,
  planBroadcast,
  planFleet,
  type CostItem,
  type Plan,
  type Quota,
  standingCost,
} from '../plan-model';

interface PlanOptions {
  connections: number;
  quota?: Quota;
  messageBytes: number;
  deadlineSeconds?: number;
  set?: string[];
  local?: boolean;
  json?: boolean;
  cells?: number;
  targetSeconds?: number;
  channelSize?: number;
}

const MAX_CONNECTIONS = 100_000_000;
const MAX_QUOTA = 10_000_000;
const DEFAULT_MESSAGE_BYTES = 1_024;
const MAX_TARGET_SECONDS = 24 * 60 * 60;

/** --cells: a whole number of cells a fleet can have. */
export function parseCells(value: string): number {
  const k = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(k) || k < 1 || k > MAX_PLAN_CELLS)
    throw new InvalidArgumentError(
      `--cells must be a whole number from 1 to ${MAX_PLAN_CELLS} (a fleet's coordinator starts at most ${MAX_PLAN_CELLS} cells at once; docs/fleet.md).`,
    );
  return k;
}

/** "RATE" or "RATE/BURST"; a rate alone gets AWS's ratio, a burst of half the rate. */
export function parseQuota(value: string): Quota {
  const match = /^(\d[\d_]*)(?:\/(\d[\d_]*))?$/.exec(value.trim());
  const rate = match ? Number(match[1].replaceAll('_', '')) : NaN;
  const burst = match?.[2] !== undefined ? Number(match[2].replaceAll('_', '')) : Math.max(1, Math.floor(rate / 2));
  if (
    !Number.isInteger(rate) ||
    rate < 1 ||
    rate > MAX_QUOTA ||
    !Number.isInteger(burst) ||
    burst < 1 ||
    burst > MAX_QUOTA
  ) {
    throw new InvalidArgumentError(
      `--quota must be RATE or RATE/BURST, whole numbers of calls from 1 to ${formatCount(MAX_QUOTA)} (AWS's default is ${formatCount(DEFAULT_QUOTA.ratePerSecond)}/${formatCount(DEFAULT_QUOTA.burst)}).`,
    );
  }
  return { ratePerSecond: rate, burst };
}

/** The --set pairs over the defaults of infra/config.ts, validated as `cdk deploy -c swarmcast:KEY=VALUE` would be. */
export function configFromSettings(settings: readonly string[]): { config: SwarmcastConfig; explicit: Set<string> } {
  const { overrides, config } = overridesFromSettings(settings);
  return { config, explicit: new Set(Object.keys(overrides)) };
}

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description(
      'predict one broadcast before sending it: time to last delivery, @connections calls, Lambda concurrency and the AWS bill; and what the connected sockets cost per hour',
    )
    .addOption(
      new Option('--connections <n>', 'sockets to reach (required)')
        .makeOptionMandatory()
        .argParser(parsePositiveInteger('--connections', MAX_CONNECTIONS)),
    )
    .addOption(
      new Option(
        '--quota <rate[/burst]>',
        "the account's API Gateway throttle in calls/s (a raised quota, another Region's, or the local stack's emulated one)",
      )
        .default(
          undefined,
          `the settings accountQuotaRatePerSecond/accountQuotaBurst: ${DEFAULT_QUOTA.ratePerSecond}/${DEFAULT_QUOTA.burst}, AWS's default`,
        )
        .argParser(parseQuota),
    )
    .addOption(
      new Option('--message-bytes <b>', 'size of the message (API Gateway bills each post per 32 KB)')
        .default(DEFAULT_MESSAGE_BYTES)
        .argParser(parsePositiveInteger('--message-bytes', AWS_LIMITS.webSocketMessageBytes.value)),
    )
    .addOption(
      new Option(
        '--deadline-seconds <s>',
        'say whether the broadcast can be done this soon, and what would make it',
      ).argParser(parsePositiveInteger('--deadline-seconds', 24 * 60 * 60)),
    )
    .addOption(new Option('--set <key=value>', SET_OPTION_HELP).argParser(collectSetting))
    .addOption(
      new Option(
        '--local',
        "predict the local stack on this machine (its services' measured speeds) instead of AWS: checks the model against bench:quota",
      ),
    )
    .addOption(
      new Option(
        '--cells <k>',
        'spread the sockets over K cells, each its own account or Region with the quota to itself: the fleet broadcast and the time to connect (docs/fleet.md)',
      )
        .argParser(parseCells)
        .conflicts(['targetSeconds', 'deadlineSeconds']),
    )
    .addOption(
      new Option('--target-seconds <s>', 'how many cells a fleet needs for its broadcast to end within this time')
        .argParser(parsePositiveInteger('--target-seconds', MAX_TARGET_SECONDS))
        .conflicts(['deadlineSeconds']),
    )
    .addOption(
      new Option(
        '--channel-size <n>',
        "price a broadcast to one channel of N members among the --connections sockets: it reads the channel's channelPartitions partitions, not every connection partition (docs/channels.md)",
      )
        .argParser(parsePositiveInteger('--channel-size', MAX_CONNECTIONS))
        .conflicts(['cells', 'targetSeconds']),
    )
    .addOption(new Option('--json', 'print one JSON object (durationMs, calls, costUsd.total and the breakdown)'))
    .addHelpText(
      'after',
      `
The configuration is infra/config.ts's defaults (what \`cdk deploy\` deploys without context) with
your --set overrides; the quota is the accountQuota settings unless --quota says otherwise (2,500/1,250
in 13 Regions: functions/commons/aws-limits.ts), and the delivery budget (deliveryRatePerSecond) is
90 % of it unless you --set it. Prices and quotas: functions/commons/aws-limits.ts; the model and its assumptions,
each with its source: cli/plan-model.ts.

Examples:
  swarmcast plan --connections 1000000
  swarmcast plan --connections 1000000 --message-bytes 131072 --deadline-seconds 30
  swarmcast plan --connections 100000 --quota 2000/1000 --local     # what bench:quota should measure
  swarmcast plan --connections 1000000 --cells 10                   # a fleet of 10 cells at AWS's default quotas
  swarmcast plan --connections 1000000 --target-seconds 30          # how many cells 30 s takes`,
    )
    .action((options: PlanOptions) => {
      const settings = options.set ?? [];
      const { config, explicit } = configFromSettings(settings);
      const quota = options.quota ?? {
        ratePerSecond: config.accountQuotaRatePerSecond,
        burst: config.accountQuotaBurst,
      };
      const input = {
        connections: options.connections,
        messageBytes: options.messageBytes,
        quota,
        config,
        site: options.local ? ('local' as const) : ('aws' as const),
        deadlineSeconds: options.deadlineSeconds,
      };
      const budget = budgetFor(config, quota, explicit.has('deliveryRatePerSecond'));
      if (options.cells !== undefined || options.targetSeconds !== undefined) {
        console.log(planFleetCommand(options, { ...input, site: 'aws' }, budget, settings));
        return;
      }
      if (options.channelSize !== undefined) {
        console.log(planChannelCommand(options, options.channelSize, input, budget, settings));
        return;
      }
      const plan = planBroadcast(input, budget);
      console.log(options.json ? JSON.stringify(plan) : renderPlan(plan, settings));
    });
}

/**
 * A channel broadcast is a broadcast to its members over the channel's partitions (the same path
 * after Prepare), so it is priced as one; the sockets kept connected stay all --connections.
 */
function planChannelCommand(
  options: PlanOptions,
  members: number,
  input: Parameters<typeof planBroadcast>[0],
  budget: number,
  settings: string[],
): string {
  if (members > options.connections)
    throw new CliError(
      `--channel-size ${members} is more than the ${options.connections} --connections: a channel's members are among the API's sockets`,
    );
  const channelPartitions = input.config.channelPartitions;
  const plan = {
    ...planBroadcast(
      { ...input, connections: members, config: { ...input.config, partitions: channelPartitions } },
      budget,
    ),
    standing: standingCost(options.connections),
    channel: { members, channelPartitions, sockets: options.connections },
  };
  if (options.json) return JSON.stringify(plan);
  return renderPlan(plan, settings)
    .replace(
      /^plan: one broadcast to [\d,]+ sockets/,
      `plan: one channel broadcast to ${formatCount(members)} members (of ${formatCount(options.connections)} sockets; ${formatCount(channelPartitions)} channel partitions)`,
    )
    .replace(/^keeping [\d,]+ sockets connected/m, `keeping ${formatCount(options.connections)} sockets connected`);
}

const usd = (value: number): string => `$${value.toFixed(value >= 1 ? 2 : 4)}`;
const PER = { 1: '', 1e3: 'thousand ', 1e6: 'million ' } as Record<number, string>;

function unitPrice(item: CostItem): string {
  const price =
    item.unitPriceUsd < 0.001
      ? `$${item.unitPriceUsd}`
      : `$${item.unitPriceUsd.toFixed(item.unitPriceUsd < 1 ? 3 : 2)}`;
  return `${price} per ${PER[item.per] ?? `${formatCount(item.per)} `}${item.unit}`;
}

function quantity(item: CostItem): string {
  return `${item.quantity < 1_000 && !Number.isInteger(item.quantity) ? item.quantity.toFixed(1) : formatCount(Math.round(item.quantity))} ${item.unit}`;
}

export function renderPlan(plan: Plan, settings: readonly string[] = []): string {
  const where = plan.site === 'local' ? 'the local stack on this machine' : 'AWS';
  const quota = `${formatCount(plan.quota.ratePerSecond)}/s (burst ${formatCount(plan.quota.burst)})`;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const limitedBy = {
    quota: 'the quota',
    budget: `the delivery budget (deliveryRatePerSecond, ${formatCount(plan.budgetPerSecond)}/s of the ${formatCount(plan.quota.ratePerSecond)}/s quota)`,
    consumers: `the consumers (shards × consumerMaxConcurrency × what one instance posts)`,
    'fan-out': 'the fan-out (queries and enqueues)',
  }[plan.limitedBy];
  const l = plan.lambda;
  const rows: [string, string][] = [
    [
      'time to last delivery',
      `${formatDuration(plan.durationMs)} (ideal N/quota ${formatDuration(plan.idealMs)}; fan-out done at ${seconds(plan.fanOutMs)}, first delivery at ${seconds(plan.firstDeliveryMs)})`,
    ],
    ['delivery rate', `${formatCount(Math.floor(plan.deliveryRatePerSecond))} calls/s, set by ${limitedBy}`],
    [
      '@connections calls',
      `${formatCount(plan.calls)} (${formatCount(plan.posts)} PostToConnection, ${formatCount(plan.throttledCalls)} answered 429)`,
    ],
    [
      'Lambda concurrency',
      `the rate needs ${formatCount(l.neededConcurrency)} consumer instance${l.neededConcurrency === 1 ? '' : 's'}; the shard queues hold ~${formatCount(l.heldConcurrency)}, at most ${formatCount(l.maxConcurrency)}; peak with the map children ${formatCount(l.peakAccountConcurrency)} of the account's ${formatCount(AWS_LIMITS.lambdaAccountConcurrency.value)}`,
    ],
    ['delivery tasks', `${formatCount(plan.deliveryTasks)} SQS messages`],
  ];
  if (plan.deadline)
    rows.push([
      'deadline',
      plan.deadline.met ? `${formatCount(plan.deadline.seconds)} s: met` : `not met: ${plan.deadline.advice}`,
    ]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const header = ['SERVICE', 'ITEM', 'QUANTITY', 'UNIT PRICE', 'USD'];
  const rowsOf = (items: CostItem[], total: number) => [
    ...items.map((item) => [item.service, item.item, quantity(item), unitPrice(item), usd(item.usd)]),
    ['total', '', '', '', usd(total)],
  ];
  const costRows = rowsOf(plan.costUsd.items, plan.costUsd.total);
  const standingRows = rowsOf(plan.standing.perHour.items, plan.standing.perHour.total);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...[...costRows, ...standingRows].map((row) => row[i].length)),
  );
  const line = (cells: string[]) =>
    '  ' +
    cells
      .map((cell, i) => (i >= 2 && i !== 3 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const standing = plan.standing;
  return [
    `plan: one broadcast to ${formatCount(plan.connections)} sockets on ${where}, a ${formatCount(plan.messageBytes)}-byte message, quota ${quota}`,
    `  configuration: infra/config.ts defaults${settings.length ? ` with ${settings.join(', ')}` : ''}`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    `cost of one broadcast${plan.site === 'local' ? ' if it ran on AWS' : ''} (list prices, us-east-1)`,
    line(header),
    ...costRows.map(line),
    '',
    `keeping ${formatCount(plan.connections)} sockets connected, per hour (not part of the broadcast): clients following client/protocol.ts send ~${formatCount(Math.round(standing.keepAlivesPerSecond))} keep-alives/s and reconnect ~${formatCount(Math.round(standing.reconnectsPerSecond))}/s`,
    line(header),
    ...standingRows.map(line),
    ...plan.warnings.map((warning) => `\nwarning: ${warning}`),
  ].join('\n');
}

/** --cells K, or --target-seconds T: the fleet plan, or the fewest cells that make T. */
function planFleetCommand(
  options: PlanOptions,
  input: Parameters<typeof cellsForTarget>[0],
  budget: number,
  settings: readonly string[],
): string {
  if (options.local)
    throw new CliError(
      '--cells and --target-seconds plan cells on AWS; the local fleet (swarmcast local --cells) is not built yet: drop --local',
    );
  if (options.targetSeconds !== undefined) {
    const found = cellsForTarget(input, options.targetSeconds, budget);
    return options.json ? JSON.stringify(found) : renderFleetTarget(found, settings);
  }
  try {
    const plan = planFleet({ ...input, cells: options.cells! }, budget);
    return options.json ? JSON.stringify(plan) : renderFleetPlan(plan, settings);
  } catch (error) {
    if (error instanceof FleetPlanError) throw new CliError(`--cells: ${error.message}`);
    throw error;
  }
}

function renderFleetTarget(found: FleetForTarget, settings: readonly string[]): string {
  const head = found.met
    ? `target ${formatCount(found.targetSeconds)} s: ${formatCount(found.plan.cells)} cell${found.plan.cells === 1 ? '' : 's'} (the fewest that make it)`
    : `target ${formatCount(found.targetSeconds)} s: not met: ${found.advice}`;
  return `${head}\n\n${renderFleetPlan(found.plan, settings)}`;
}

export function renderFleetPlan(plan: FleetPlan, settings: readonly string[] = []): string {
  const cell = plan.cell;
  const quota = `${formatCount(plan.quotaPerCell.ratePerSecond)}/s (burst ${formatCount(plan.quotaPerCell.burst)})`;
  const perCellConnect = plan.connectRatePerSecond / plan.cells;
  const rows: [string, string][] = [
    [
      'time to last delivery',
      `${formatDuration(plan.durationMs)} (ideal N/(K × quota) ${formatDuration(plan.idealMs)}; the coordinator ${formatDuration(plan.coordinatorMs)}, then each cell's broadcast ${formatDuration(cell.durationMs)} side by side)`,
    ],
    [
      'time to connect',
      `${formatDuration(plan.connectMs)} for all ${formatCount(plan.connections)} sockets at ${formatCount(plan.connectRatePerSecond)} new connections/s (${formatCount(perCellConnect)}/s per cell; one stack alone: ${formatDuration((plan.connections / perCellConnect) * 1000)})`,
    ],
    [
      'each cell',
      `${formatCount(Math.floor(cell.deliveryRatePerSecond))} calls/s (set by ${cell.limitedBy === 'budget' ? `the delivery budget, ${formatCount(cell.budgetPerSecond)}/s` : `the ${cell.limitedBy}`}); ${formatCount(cell.lambda.neededConcurrency)} consumer instance${cell.lambda.neededConcurrency === 1 ? '' : 's'} needed, peak ${formatCount(cell.lambda.peakAccountConcurrency)} Lambda instances`,
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const header = ['SERVICE', 'ITEM', 'QUANTITY', 'UNIT PRICE', 'USD'];
  const tables = [plan.costUsd, plan.standing.perHour].map(({ items, total }) => [
    ...items.map((item) => [item.service, item.item, quantity(item), unitPrice(item), usd(item.usd)]),
    ['total', '', '', '', usd(total)],
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...tables.flat().map((row) => row[i].length)));
  const line = (cells: string[]) =>
    `  ${cells
      .map((text, i) => (i >= 2 && i !== 3 ? text.padStart(widths[i]) : text.padEnd(widths[i])))
      .join('  ')
      .trimEnd()}`;
  return [
    `plan: one fleet broadcast to ${formatCount(plan.connections)} sockets over ${formatCount(plan.cells)} cells on AWS, a ${formatCount(plan.messageBytes)}-byte message; each cell its own account or Region: up to ${formatCount(plan.connectionsPerCell)} sockets and a quota of ${quota}`,
    `  configuration: infra/config.ts defaults${settings.length ? ` with ${settings.join(', ')}` : ''}, in every cell`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    "cost of one fleet broadcast (list prices, us-east-1): every cell's broadcast and the coordinator",
    line(header),
    ...tables[0].map(line),
    '',
    `keeping ${formatCount(plan.connections)} sockets connected, per hour (not part of the broadcast; the same over any number of cells)`,
    line(header),
    ...tables[1].map(line),
    ...plan.warnings.map((warning) => `\nwarning, in each cell: ${warning}`),
  ].join('\n');
}

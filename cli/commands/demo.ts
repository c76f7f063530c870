/**
 * `swarmcast demo` (and `npm start`): one broadcast to real clients on the local stack
 * (local/demo.ts), with progress on stderr and a summary of what every client received.
 */
import { type Command, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { runDemo, type DemoSummary } from '../../local/demo';
import type { Throttle } from '../../local/gateway';
import { parsePositiveInteger, throttleOptions } from '../options';
import { collectSetting, overridesFromSettings, SET_OPTION_HELP } from '../settings';

const formatCount = (n: number) => n.toLocaleString('en-US');
/** Progress lines while connecting and delivering, when stderr is not a terminal. */
const PROGRESS_EVERY_MS = 10_000;
const formatMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${formatCount(Math.round(ms))} ms`);

export function registerDemoCommand(program: Command): void {
  const command = program
    .command('demo')
    .description(
      'start the local stack, connect real WebSocket clients, broadcast once through the state machine, and report what every client received',
    )
    .addOption(
      new Option('--clients <n>', 'WebSocket clients to connect')
        .default(1_000)
        .argParser(parsePositiveInteger('--clients', 100_000)),
    )
    .addOption(
      new Option('--partitions <n>', 'connection partitions').argParser(parsePositiveInteger('--partitions', 10_000)),
    )
    .addOption(new Option('--shards <n>', 'SQS shard queues').argParser(parsePositiveInteger('--shards', 100)))
    .addOption(new Option('--set <key=value>', SET_OPTION_HELP).argParser(collectSetting))
    .option('--json', 'print the summary as one JSON object on the last line');
  for (const option of throttleOptions()) command.addOption(option);
  command.action(
    async (options: {
      clients: number;
      partitions?: number;
      shards?: number;
      set?: string[];
      json?: boolean;
      quota: Throttle;
      connectRate: Throttle;
    }) => {
      const { overrides } = overridesFromSettings(options.set);
      const interactive = process.stderr.isTTY && !options.json;
      const bar = interactive
        ? new SingleBar(
            { format: '  delivered {bar} {value}/{total} clients', hideCursor: true },
            Presets.shades_classic,
          )
        : undefined;
      let barStarted = false;
      const connectBar = interactive
        ? new SingleBar(
            { format: '  connected {bar} {value}/{total} clients', hideCursor: true },
            Presets.shades_classic,
          )
        : undefined;
      let lastProgressLine = 0;
      const summary = await runDemo({
        clients: options.clients,
        quota: options.quota,
        connectRate: options.connectRate,
        config: {
          ...overrides,
          ...(options.partitions && { partitions: options.partitions }),
          ...(options.shards && { shards: options.shards }),
        },
        onPhase: (phase) => {
          connectBar?.stop();
          if (barStarted) {
            bar?.stop();
            barStarted = false;
          }
          if (!options.json) console.error(`swarmcast demo: ${phase}…`);
        },
        onConnectProgress: ({ clients, open, closedByServer }) => {
          if (connectBar) {
            if (!connectBar.isActive) connectBar.start(clients, open);
            connectBar.update(open);
          } else if (Date.now() - lastProgressLine >= PROGRESS_EVERY_MS) {
            // Connecting 100,000 clients takes minutes: say how far it got, also with --json (on stderr).
            lastProgressLine = Date.now();
            console.error(
              `swarmcast demo: ${formatCount(open)} of ${formatCount(clients)} clients connected${closedByServer ? `, ${formatCount(closedByServer)} closed by the server` : ''}`,
            );
          }
        },
        onProgress: (received, clients) => {
          if (!bar) {
            if (Date.now() - lastProgressLine >= PROGRESS_EVERY_MS) {
              lastProgressLine = Date.now();
              console.error(
                `swarmcast demo: ${formatCount(received)} of ${formatCount(clients)} clients received the broadcast`,
              );
            }
            return;
          }
          if (!barStarted) {
            bar.start(clients, received);
            barStarted = true;
          }
          bar.update(received);
        },
      });
      if (options.json) console.log(JSON.stringify(summary));
      else console.log(render(summary));
      process.exitCode = summary.ok ? 0 : 1;
    },
  );
}

function render(s: DemoSummary): string {
  const rows: [string, string][] = [
    ['clients', formatCount(s.clients)],
    ['connections enqueued', formatCount(s.connections)],
    ['partitions visited', formatCount(s.partitions)],
    ['delivered', formatCount(s.delivered)],
    ['gone (swept)', formatCount(s.gone)],
    ['failed', formatCount(s.failed)],
    ['received by clients', `${formatCount(s.received)} (${formatCount(s.duplicates)} duplicates)`],
    ['time to last delivery', formatMs(s.durationMs)],
    [
      'connecting',
      `${formatMs(s.connectMs)} (${formatCount(s.connectRetries)} refused handshakes retried; connect rate ${s.connectRate}/s)`,
    ],
    [
      'gateway memory',
      `${formatCount(Math.round(s.gatewayRssBytes / 2 ** 20))} MiB RSS, ${formatCount(Math.round(s.gatewayBytesPerSocket / 1024))} KiB per socket`,
    ],
    ['@connections throttled', `${formatCount(s.throttled)} calls answered 429 (quota ${s.quota})`],
    ['delivery latency p50', formatMs(s.p50Ms)],
    ['delivery latency p99', formatMs(s.p99Ms)],
    ['execution', `${s.executionStatus} (${s.broadcastId})`],
  ];
  const stage = (ms: number | null) => (ms === null ? '–' : formatMs(ms));
  const span = (first: number | null, last: number | null) => `${stage(first)} → ${stage(last)}`;
  const { stages } = s;
  const stageRows: [string, string][] = [
    ['prepared', stage(stages.prepared)],
    ['fan-out (Map Run)', span(stages.fanOutStarted, stages.fanOutEnded)],
    ['enqueued', `${span(stages.firstEnqueued, stages.lastEnqueued)}   first → last partition`],
    ['delivered', `${span(stages.firstDelivery, stages.lastDelivery)}   first → last client`],
  ];
  const width = Math.max(...[...rows, ...stageRows].map(([label]) => label.length));
  const line = ([label, value]: [string, string]) => `  ${label.padEnd(width)}  ${value}`;
  const verdict = s.ok
    ? 'every client received the broadcast exactly once'
    : 'NOT every client received the broadcast exactly once';
  return [
    `\nswarmcast demo — ${verdict}\n`,
    ...rows.map(line),
    '',
    '  stages, since the execution started:',
    ...stageRows.map(line),
    '',
  ].join('\n');
}

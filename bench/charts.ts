/**
 * The benchmarks' charts: Vega-Lite specs rendered to SVG headlessly (vega's 'none' renderer,
 * no canvas), written to bench/charts/ and shown in bench/README.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const CHARTS_DIR = path.join(__dirname, 'charts');

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vegaLite = await import('vega-lite');
  const vega = await import('vega');
  const view = new vega.View(vega.parse(vegaLite.compile(spec as never).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Renders a Vega-Lite spec to bench/charts/<name>.svg and returns the file's path. */
export async function writeChart(name: string, spec: Record<string, unknown>): Promise<string> {
  const svg = await renderSvg(spec);
  mkdirSync(CHARTS_DIR, { recursive: true });
  const file = path.join(CHARTS_DIR, `${name}.svg`);
  writeFileSync(file, svg);
  return file;
}

export interface RatePoint {
  mode: string;
  seconds: number;
  deliveriesPerSecond: number;
}

/** Deliveries per second over time, one line per mode, with the emulated quota as a rule. */
export function deliveriesChart(
  points: readonly RatePoint[],
  quotaPerSecond: number,
  title: string,
): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 640,
    height: 300,
    background: 'white',
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 'seconds', type: 'quantitative', title: 'seconds since the broadcast started' },
          y: { field: 'deliveriesPerSecond', type: 'quantitative', title: 'deliveries per second' },
          color: { field: 'mode', type: 'nominal', title: 'mode' },
        },
      },
      {
        data: { values: [{ quota: quotaPerSecond, label: `quota ${quotaPerSecond.toLocaleString('en-US')}/s` }] },
        layer: [
          {
            mark: { type: 'rule', strokeDash: [6, 4], color: 'black' },
            encoding: { y: { field: 'quota', type: 'quantitative' } },
          },
          {
            mark: { type: 'text', align: 'left', dx: 4, dy: -6, x: 0 },
            encoding: { y: { field: 'quota', type: 'quantitative' }, text: { field: 'label' } },
          },
        ],
      },
    ],
  };
}

export interface LastDeliveryPoint {
  clients: number;
  lastDeliveryMs: number;
  /** The floor's (a plain `ws` broadcast to as many clients, same run); absent where it was not measured. */
  floorLastDeliveryMs?: number;
}

const DEMO_SERIES = 'local demo (swarmcast)';
const FLOOR_SERIES = 'floor (a plain ws broadcast)';

/**
 * A log axis's ticks for `values`: the powers of ten that span them, and 2 and 5 times each when
 * they span at most two decades (the demo alone: otherwise two ticks, 10 and 100).
 */
function logTicks(values: readonly number[]): number[] {
  if (values.length === 0) return [];
  const low = Math.floor(Math.log10(Math.min(...values)));
  const high = Math.ceil(Math.log10(Math.max(...values)));
  const steps = high - low <= 2 ? [1, 2, 5] : [1];
  const ticks = Array.from({ length: high - low + 1 }, (_, i) =>
    steps.map((step) => Number((step * 10 ** (low + i)).toPrecision(1))),
  ).flat();
  return ticks.filter((tick) => tick <= 10 ** high);
}

/** A point's label: seconds for the demo's, milliseconds for the floor's, which is often under a tenth of a second. */
const secondsLabel = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const floorLabel = (ms: number) => (ms < 1 ? '< 1 ms' : `${ms.toLocaleString('en-US')} ms`);

/**
 * Time to last delivery against the client count (medians), two series: the local demo and the
 * floor measured beside it. Both axes are logarithmic: the floor is two orders of magnitude
 * below the demo. `planned` are the counts the chart is meant to show: those without a point are
 * named in the subtitle as not measured, so a missing one is never mistaken for a flat line, and
 * so are demo points without a floor. `conditions` (the machine's load, say) is one more subtitle
 * line: figures from a loaded machine say so.
 */
export function lastDeliveryChart(
  points: readonly LastDeliveryPoint[],
  title: string,
  planned: readonly number[] = [],
  conditions?: string,
): Record<string, unknown> {
  const measured = new Set(points.map((p) => p.clients));
  const missing = planned.filter((clients) => !measured.has(clients));
  const withoutFloor = points.filter((p) => p.floorLastDeliveryMs === undefined).map((p) => p.clients);
  const count = (counts: number[]) => counts.map((n) => n.toLocaleString('en-US')).join(', ');
  const subtitle = [
    missing.length > 0 ? `not measured: ${count(missing)} clients` : 'every planned client count measured',
    ...(withoutFloor.length > 0 ? [`floor not measured: ${count(withoutFloor)} clients`] : []),
    ...(conditions ? [conditions] : []),
  ];
  const values = points.flatMap((p) => [
    {
      clients: p.clients,
      series: DEMO_SERIES,
      seconds: p.lastDeliveryMs / 1000,
      label: secondsLabel(p.lastDeliveryMs),
    },
    // A log axis has no 0: a floor under the clients' 1 ms clock is drawn at 1 ms and labelled as under it.
    ...(p.floorLastDeliveryMs === undefined
      ? []
      : [
          {
            clients: p.clients,
            series: FLOOR_SERIES,
            seconds: Math.max(1, p.floorLastDeliveryMs) / 1000,
            label: floorLabel(p.floorLastDeliveryMs),
          },
        ]),
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: subtitle.length === 1 ? subtitle[0] : subtitle },
    width: 560,
    height: 300,
    background: 'white',
    data: { values },
    layer: [
      { mark: { type: 'line', point: true } },
      { mark: { type: 'text', dy: -10 }, encoding: { text: { field: 'label', type: 'nominal' } } },
    ],
    encoding: {
      x: {
        field: 'clients',
        type: 'quantitative',
        title: 'clients (real sockets, log scale)',
        // Room either side, so the end points' labels clear the y axis and the edge.
        scale: {
          type: 'log',
          domain: [Math.min(...planned, ...measured) / 1.4, Math.max(...planned, ...measured) * 1.4],
        },
        axis: { values: [...new Set([...planned, ...measured])].sort((x, y) => x - y), format: ',d' },
      },
      y: {
        field: 'seconds',
        type: 'quantitative',
        title: 'time to last delivery (s, median, log scale)',
        scale: { type: 'log' },
        axis: { values: logTicks(values.map((v) => v.seconds)), format: '~g' },
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: [DEMO_SERIES, FLOOR_SERIES] },
        legend: { orient: 'bottom', labelLimit: 400 },
      },
    },
  };
}

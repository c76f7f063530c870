/**
 * The benchmarks' charts: Vega-Lite specs rendered to SVG headlessly (vega's 'none' renderer,
 * no canvas), written to bench/charts/ and shown in the README.
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
export function deliveriesChart(points: readonly RatePoint[], quotaPerSecond: number, title: string): Record<string, unknown> {
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
          { mark: { type: 'rule', strokeDash: [6, 4], color: 'black' }, encoding: { y: { field: 'quota', type: 'quantitative' } } },
          { mark: { type: 'text', align: 'left', dx: 4, dy: -6, x: 0 }, encoding: { y: { field: 'quota', type: 'quantitative' }, text: { field: 'label' } } },
        ],
      },
    ],
  };
}

export interface LastDeliveryPoint {
  clients: number;
  lastDeliveryMs: number;
}

/**
 * Time to last delivery against the client count (the local demo, medians), on a log scale of
 * clients. `planned` are the counts the chart is meant to show: those without a point are named
 * in the subtitle as not measured, so a missing one is never mistaken for a flat line. `conditions`
 * (the machine's load, say) is a second subtitle line: figures from a loaded machine say so.
 */
export function lastDeliveryChart(points: readonly LastDeliveryPoint[], title: string, planned: readonly number[] = [], conditions?: string): Record<string, unknown> {
  const measured = new Set(points.map((p) => p.clients));
  const missing = planned.filter((clients) => !measured.has(clients));
  const subtitle = missing.length > 0 ? `not measured: ${missing.map((n) => n.toLocaleString('en-US')).join(', ')} clients` : 'every planned client count measured';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: conditions ? [subtitle, conditions] : subtitle },
    width: 480,
    height: 280,
    background: 'white',
    data: { values: points.map((p) => ({ clients: p.clients, seconds: p.lastDeliveryMs / 1000 })) },
    layer: [
      { mark: { type: 'line', point: true } },
      { mark: { type: 'text', dy: -10 }, encoding: { text: { field: 'seconds', type: 'quantitative', format: '.1f' } } },
    ],
    encoding: {
      x: {
        field: 'clients',
        type: 'quantitative',
        title: 'clients (real sockets, log scale)',
        scale: { type: 'log', domain: [Math.min(...planned, ...measured), Math.max(...planned, ...measured)] },
        axis: { values: [...new Set([...planned, ...measured])].sort((x, y) => x - y), format: ',d' },
      },
      y: { field: 'seconds', type: 'quantitative', title: 'time to last delivery (s, median)' },
    },
  };
}

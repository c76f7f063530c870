import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { lastDeliveryChart } from '../../../bench/charts';

/**
 * Renders the spec with the real vega and vega-lite: they ship as ES modules only, which this
 * CommonJS test runner cannot load, so a child Node (tsx) renders it through bench/charts.ts.
 */
function renderSvg(spec: Record<string, unknown>): string {
  const charts = path.join(__dirname, '../../../bench/charts.ts');
  const script = `import('${charts}').then(async ({ renderSvg }) => process.stdout.write(await renderSvg(JSON.parse(process.env.SPEC))))`;
  return execFileSync(process.execPath, ['--import', 'tsx', '--eval', script], {
    encoding: 'utf8',
    env: { ...process.env, SPEC: JSON.stringify(spec) },
  });
}

const PLANNED = [1_000, 5_000, 20_000, 100_000];

/** The texts of an SVG rendered by vega: titles (a line each), axis labels, point labels, legend labels; entities decoded. */
const texts = (svg: string): string[] =>
  [...svg.matchAll(/<(?:text|tspan)[^>]*>([^<]+)</g)].map(([, text]) =>
    text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'),
  );

/** The SVG paths vega draws for the lines (one per series), as the stroke colours they use. */
const lineStrokes = (svg: string): string[] =>
  [...svg.matchAll(/<path[^>]*aria-roledescription="line mark"[^>]*stroke="([^"]+)"/g)].map(([, stroke]) => stroke);

describe('the demo chart (time to last delivery against clients)', () => {
  it('draws each measured median with its label and names the planned client counts not measured', () => {
    const points = [
      { clients: 1_000, lastDeliveryMs: 2_617, floorLastDeliveryMs: 31 },
      { clients: 5_000, lastDeliveryMs: 6_240, floorLastDeliveryMs: 95 },
      { clients: 20_000, lastDeliveryMs: 11_400, floorLastDeliveryMs: 310 },
    ];

    const svg = renderSvg(lastDeliveryChart(points, 'Local demo', PLANNED, 'load average 2–3 on 2 cores'));

    expect(svg.startsWith('<svg')).toBe(true);
    const labels = texts(svg);
    expect(labels).toEqual(
      expect.arrayContaining([
        '2.6 s',
        '6.2 s',
        '11.4 s',
        'not measured: 100,000 clients',
        'load average 2–3 on 2 cores',
      ]),
    );
    // The x axis shows every planned count, the missing one included.
    expect(labels).toEqual(expect.arrayContaining(['1,000', '5,000', '20,000', '100,000']));
  });

  it('says every planned count was measured once the results file has them all', () => {
    const points = PLANNED.map((clients) => ({
      clients,
      lastDeliveryMs: clients / 2,
      floorLastDeliveryMs: clients / 100,
    }));

    const labels = texts(renderSvg(lastDeliveryChart(points, 'Local demo', PLANNED)));

    expect(labels).toContain('every planned client count measured');
    expect(labels.some((label) => label.startsWith('not measured') || label.startsWith('floor not measured'))).toBe(
      false,
    );
  });

  it('draws the floor beside the demo as a second series, in milliseconds, with a legend naming both', () => {
    const points = [
      { clients: 1_000, lastDeliveryMs: 2_617, floorLastDeliveryMs: 31 },
      { clients: 5_000, lastDeliveryMs: 6_240, floorLastDeliveryMs: 95 },
    ];

    const svg = renderSvg(lastDeliveryChart(points, 'Local demo', PLANNED));

    const labels = texts(svg);
    expect(labels).toEqual(
      expect.arrayContaining([
        '2.6 s',
        '6.2 s',
        '31 ms',
        '95 ms',
        'local demo (swarmcast)',
        'floor (a plain ws broadcast)',
      ]),
    );
    // Two lines in two colours: the floor is not folded into the demo's line.
    const strokes = lineStrokes(svg);
    expect(strokes).toHaveLength(2);
    expect(new Set(strokes).size).toBe(2);
  });

  it('names the client counts whose floor was not measured (results kept before the floor was), and draws a floor under 1 ms as under it', () => {
    const points = [
      { clients: 1_000, lastDeliveryMs: 2_617, floorLastDeliveryMs: 0 },
      { clients: 5_000, lastDeliveryMs: 6_240 },
      { clients: 20_000, lastDeliveryMs: 11_400 },
    ];

    const labels = texts(renderSvg(lastDeliveryChart(points, 'Local demo', PLANNED)));

    expect(labels).toEqual(expect.arrayContaining(['floor not measured: 5,000, 20,000 clients', '< 1 ms']));
  });
});

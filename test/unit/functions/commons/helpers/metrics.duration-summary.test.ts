import { DurationSummary, SUMMARY_POINTS } from '#commons/helpers/metrics';

const summaryOf = (durations: number[], random?: () => number): DurationSummary => {
  const summary = new DurationSummary(random);
  for (const ms of durations) summary.add(ms);
  return summary;
};

describe('DurationSummary', () => {
  it('publishes a few durations as they are, in ascending order, rounded to 0.1 ms', () => {
    expect(summaryOf([12.345, 3, 7.04]).points()).toEqual([3, 7, 12.3]);
  });

  it('publishes many durations as SUMMARY_POINTS values evenly spaced by rank, the largest last', () => {
    // 1..1000 ms in shuffled order: point i is the duration of rank i·1000/SUMMARY_POINTS.
    const durations = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) + 1);

    const points = summaryOf(durations).points();

    expect(points).toHaveLength(SUMMARY_POINTS);
    expect(points).toEqual(Array.from({ length: SUMMARY_POINTS }, (_, i) => ((i + 1) * 1000) / SUMMARY_POINTS));
  });

  it('past SUMMARY_SAMPLES durations, keeps a uniform sample: the later calls too', () => {
    // A fixed sequence stands in for Math.random: each later duration replaces a kept one or not.
    let draw = 0;
    const random = () => (draw++ * 0.618034) % 1;
    const durations = Array.from({ length: 50_000 }, (_, i) => (i < 25_000 ? 1 : 100));

    const summary = summaryOf(durations, random);
    const points = summary.points();

    expect(points).toHaveLength(SUMMARY_POINTS);
    // Half the calls took 100 ms: about half the points say so, not none (a sample of the first calls only).
    const slow = points.filter((ms) => ms === 100).length;
    expect(slow).toBeGreaterThan(SUMMARY_POINTS * 0.35);
    expect(slow).toBeLessThan(SUMMARY_POINTS * 0.65);
  });
});

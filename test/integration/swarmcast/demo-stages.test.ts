/**
 * The local demo end to end, small: every client gets the message once, and its stages are read
 * from real events (execution history, count items, client receive times) in the order they happen.
 */
import { runDemo } from '../../../local/demo';

it('reports where the time went, each stage after the one it depends on', async () => {
  const summary = await runDemo({
    clients: 200,
    config: { partitions: 20, partitionsPerChild: 4, connectionIdsPerMessage: 10 },
  });

  expect(summary).toMatchObject({ ok: true, received: 200, connections: 200 });
  const { prepared, fanOutStarted, fanOutEnded, firstEnqueued, lastEnqueued, firstDelivery, lastDelivery } =
    summary.stages;
  const times = [prepared, fanOutStarted, firstEnqueued, lastEnqueued, fanOutEnded];
  expect(times.every((ms) => typeof ms === 'number' && ms >= 0)).toBe(true);
  // the Map Run starts after Prepare, enqueues between its start and end
  expect([...times].sort((a, b) => a! - b!)).toEqual(times);
  expect(firstEnqueued).toBeLessThanOrEqual(lastEnqueued!);
  // a client hears the message only once its partition's tasks are queued, after the Map Run began
  expect(firstDelivery).toBeGreaterThan(fanOutStarted!);
  expect(lastDelivery).toBeGreaterThanOrEqual(firstDelivery!);
  // durationMs runs from just before StartExecution, so it is the longer of the two
  expect(lastDelivery).toBeLessThanOrEqual(summary.durationMs);
});

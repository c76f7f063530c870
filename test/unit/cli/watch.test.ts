import type { BroadcastStatus } from '../../../lib/broadcast-status';
import { StallWatch } from '../../../cli/watch';

const status = (accounted: number, enqueued = 4_000): BroadcastStatus =>
  ({
    id: 'b1',
    broadcastId: 'b1',
    kind: 'broadcast',
    status: 'RUNNING',
    executionArn: 'arn',
    redriveCount: 0,
    replays: [],
    partitions: { total: 16, succeeded: 16, failed: 0 },
    delivery: { enqueued, accounted, delivered: accounted, gone: 0, failed: 0 },
  }) as unknown as BroadcastStatus;

describe('send --wait / status --watch when nothing moves', () => {
  it('says once per stall that nothing has progressed, where it stands and what to look at; progress resets it', () => {
    const watch = new StallWatch(60_000, 0);

    expect(watch.observe(status(1_376), 0)).toBeUndefined();
    expect(watch.observe(status(1_376), 59_000)).toBeUndefined();
    const notice = watch.observe(status(1_376), 61_000);
    expect(notice).toBe(
      "no progress for 61 s (1,376 of 4,000 connections accounted for): look for a service that stopped or errors repeating in the stack's log (`swarmcast local` terminal, or the consumers' CloudWatch logs), " +
        "and for delivery tasks on the shard queues' dead-letter queues; the broadcast fails with DeliveryTimeout if delivery does not resume",
    );
    expect(watch.observe(status(1_376), 200_000)).toBeUndefined();

    expect(watch.observe(status(1_400), 201_000)).toBeUndefined();
    expect(watch.observe(status(1_400), 262_000)).toMatch(/^no progress for 61 s \(1,400 of 4,000/);
  });
});

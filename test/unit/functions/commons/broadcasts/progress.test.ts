/** The tolerance decision ReadProgress makes, and the failure reasons a delivery counts. */
import { failureReasonsText } from '#commons/broadcasts/failure-reasons';
import { progressOf, withinFailedSocketsTolerance, type BroadcastState } from '#commons/broadcasts/progress';
import { settleConnections, type CallBudget } from '#commons/delivery';
import { ConcurrencyLimit } from '#commons/helpers/concurrency';
import { outcomeOf } from '../../../../../lib/format';

const state = (counts: Partial<BroadcastState>): BroadcastState => ({
  broadcastId: 'b-1',
  kind: 'message',
  partitionCount: 2,
  startedAt: 1_000,
  deliveryTimeoutMs: 60_000,
  enqueued: new Map([
    [0, 600],
    [1, 400],
  ]),
  delivered: 0,
  gone: 0,
  failed: 0,
  ...counts,
});

describe('the failed-sockets tolerance', () => {
  test('0 % tolerates no failed socket; a percentage tolerates up to that share of the enqueued ones, not one more', () => {
    expect(withinFailedSocketsTolerance(0, 1_000, 0)).toBe(true);
    expect(withinFailedSocketsTolerance(1, 1_000, 0)).toBe(false);
    expect(withinFailedSocketsTolerance(10, 1_000, 1)).toBe(true);
    expect(withinFailedSocketsTolerance(11, 1_000, 1)).toBe(false);
    expect(withinFailedSocketsTolerance(1_000, 1_000, 100)).toBe(true);
  });

  test('done with failed sockets past the tolerance: not tolerated, and the cause counts delivered, gone, failed and why', () => {
    const progress = progressOf(
      state({ delivered: 900, gone: 20, failed: 80, failedBy: { deadline: 75, forbidden: 5 } }),
      2_000,
      5,
    );
    expect(progress).toMatchObject({ done: true, timedOut: false, failedSocketsTolerated: false });
    expect(progress.cause).toBe(
      '80 of 1,000 sockets failed (8 %, tolerated 5 %): 75 throttled past the delivery deadline, 5 refused with 403; 900 delivered, 20 gone. `swarmcast replay b-1` sends to the failed sockets again.',
    );
    expect(progress.summary).toMatchObject({
      delivered: 900,
      gone: 20,
      failed: 80,
      failedBy: { deadline: 75, forbidden: 5 },
    });
  });

  test('within the tolerance it is tolerated, and the summary still counts the failed sockets', () => {
    const progress = progressOf(
      state({ delivered: 950, gone: 0, failed: 50, failedBy: { unavailable: 50 } }),
      2_000,
      5,
    );
    expect(progress).toMatchObject({ done: true, failedSocketsTolerated: true, summary: { failed: 50 } });
  });

  test('the reasons are listed largest first, and none when nothing failed', () => {
    expect(failureReasonsText({ tooLarge: 1, deadline: 3, unavailable: 2 })).toBe(
      '3 throttled past the delivery deadline, 2 5xx or no answer on every attempt, 1 refused with 413 (too large)',
    );
    expect(failureReasonsText({ slowReader: 4, deadline: 1 })).toBe(
      '4 slow readers (429, buffer full, until the delivery deadline), 1 throttled past the delivery deadline',
    );
    expect(failureReasonsText({})).toBe('');
  });
});

describe('failure reasons of rejected posts', () => {
  const unlimited: CallBudget = {
    take: async () => true,
    throttled: () => undefined,
    recovered: () => undefined,
    accountThrottled: () => true,
    expect: () => undefined,
  };
  const answer = (status: number) =>
    Object.assign(new Error(`HTTP ${status}`), { $metadata: { httpStatusCode: status } });

  test('403 is forbidden, 413 too large, any other answer refused; each with its socket ids', async () => {
    const probe = async (id: string) => {
      if (id.startsWith('f')) throw answer(403);
      if (id.startsWith('l')) throw answer(413);
      if (id.startsWith('x')) throw answer(400);
      return 'delivered' as const;
    };
    const settled = await settleConnections(['f1', 'l1', 'l2', 'x1', 'ok'], probe, {
      limit: new ConcurrencyLimit(5),
      budget: unlimited,
      retries: 0,
      retryBaseMs: 1,
    });
    expect(settled.delivered).toBe(1);
    expect(settled.rejected).toEqual({ forbidden: ['f1'], tooLarge: ['l1', 'l2'], refused: ['x1'] });
  });
});

describe('what the CLI calls the outcome (exit code 2 unless complete)', () => {
  const summary = {
    broadcastId: 'b-1',
    partitions: 2,
    failedPartitions: [] as number[],
    connections: 1_000,
    delivered: 1_000,
    gone: 0,
    failed: 0,
    durationMs: 5,
  };

  test('a succeeded execution with any failed socket, or any partition not reached, is incomplete', () => {
    expect(outcomeOf({ status: 'SUCCEEDED', summary })).toBe('complete');
    expect(outcomeOf({ status: 'SUCCEEDED', summary: { ...summary, delivered: 999, failed: 1 } })).toBe('incomplete');
    expect(outcomeOf({ status: 'SUCCEEDED', summary: { ...summary, failedPartitions: [1] } })).toBe('incomplete');
    expect(outcomeOf({ status: 'FAILED' })).toBe('failed');
  });
});

import type { BroadcastStatus } from '../../../lib/broadcast-status';
import { CliError } from '../../../cli/errors';
import { renderStatus } from '../../../lib/format';
import { planReplay } from '../../../lib/replay-plan';

const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:Broadcast:';

function execution(id: string, fields: Partial<BroadcastStatus>): BroadcastStatus {
  return {
    id,
    broadcastId: id,
    kind: 'message',
    status: 'SUCCEEDED',
    executionArn: `${ARN}${id}`,
    redriveCount: 0,
    replays: [],
    ...fields,
  };
}

const summary = (failedPartitions: number[]) => ({
  broadcastId: 'b-1',
  partitions: 10,
  failedPartitions,
  connections: 100,
  delivered: 100,
  gone: 0,
  failed: 0,
  durationMs: 5,
});
const partitions = { total: 10, pending: 0, running: 0, succeeded: 8, failed: 2 };

describe('planReplay: re-run exactly what the latest execution did not reach', () => {
  it('redrives a failed execution (its failed map children only)', () => {
    const broadcast = execution('b-1', {
      status: 'FAILED',
      error: 'States.ExceedToleratedFailureThreshold',
      partitions,
    });

    expect(planReplay(broadcast, broadcast)).toEqual({ action: 'redrive', id: 'b-1', failedPartitions: 2 });
  });

  it('starts <id>-replay-1 over failedPartitions when it succeeded within the tolerance', () => {
    const broadcast = execution('b-1', { summary: summary([3, 17]), partitions });

    expect(planReplay(broadcast, broadcast)).toEqual({
      action: 'start',
      id: 'b-1-replay-1',
      input: { broadcastId: 'b-1', partitions: [3, 17] },
    });
  });

  it('follows the latest replay: numbers the next one after it, or redrives it when it failed', () => {
    const replays = [{ id: 'b-1-replay-1', status: 'SUCCEEDED', failedPartitions: [17] }];
    const broadcast = execution('b-1', { summary: summary([3, 17]), replays });

    expect(
      planReplay(broadcast, execution('b-1-replay-1', { kind: 'replay', broadcastId: 'b-1', summary: summary([17]) })),
    ).toMatchObject({
      action: 'start',
      id: 'b-1-replay-2',
      input: { partitions: [17] },
    });
    expect(
      planReplay(
        broadcast,
        execution('b-1-replay-1', { kind: 'replay', broadcastId: 'b-1', status: 'FAILED', partitions }),
      ),
    ).toMatchObject({
      action: 'redrive',
      id: 'b-1-replay-1',
    });
  });

  it('asks again for a replay that failed before its map run', () => {
    const broadcast = execution('b-1', { summary: summary([3]), replays: [{ id: 'b-1-replay-1', status: 'FAILED' }] });
    const failedReplay = execution('b-1-replay-1', {
      kind: 'replay',
      broadcastId: 'b-1',
      status: 'FAILED',
      error: 'States.TaskFailed',
      replayPartitions: [3],
    });

    expect(planReplay(broadcast, failedReplay)).toEqual({
      action: 'start',
      id: 'b-1-replay-2',
      input: { broadcastId: 'b-1', partitions: [3] },
    });
  });

  it('sends to the failed sockets (and any partition not reached) when DeliveryIncomplete failed it, or it succeeded with failed sockets', () => {
    const delivery = { enqueued: 100, accounted: 100, delivered: 93, gone: 0, failed: 7 };
    const incomplete = execution('b-1', {
      status: 'FAILED',
      error: 'DeliveryIncomplete',
      partitions: { ...partitions, succeeded: 10, failed: 0 },
      delivery,
    });
    const tolerated = execution('b-1', { summary: { ...summary([]), delivered: 93, failed: 7 }, delivery });

    const expected = {
      action: 'start',
      id: 'b-1-replay-1',
      input: { broadcastId: 'b-1', failedSockets: true },
      failedSockets: 7,
    };
    expect(planReplay(incomplete, incomplete)).toEqual(expected);
    expect(planReplay(tolerated, tolerated)).toEqual(expected);
  });

  it('after DeliveryTimeout the outcome is final: sends to the failed sockets only, never to those whose counts did not come', () => {
    const delivery = { enqueued: 25, accounted: 22, delivered: 8, gone: 0, failed: 14, failedBy: { deadline: 14 } };
    const timedOut = execution('b-1', {
      status: 'FAILED',
      error: 'DeliveryTimeout',
      partitions: { ...partitions, succeeded: 10, failed: 0 },
      delivery,
    });

    expect(planReplay(timedOut, timedOut)).toEqual({
      action: 'start',
      id: 'b-1-replay-1',
      input: { broadcastId: 'b-1', failedSockets: true },
      failedSockets: 14,
    });
  });

  it('status after DeliveryTimeout advises what replay does: the failed sockets, never the unaccounted ones', () => {
    const delivery = { enqueued: 25, accounted: 22, delivered: 8, gone: 0, failed: 14, failedBy: { deadline: 14 } };
    const withFailed = execution('b-1', { status: 'FAILED', error: 'DeliveryTimeout', partitions, delivery });
    const noneFailed = execution('b-1', {
      status: 'FAILED',
      error: 'DeliveryTimeout',
      partitions,
      delivery: { ...delivery, delivered: 22, failed: 0, failedBy: {} },
    });

    expect(renderStatus(withFailed)).toContain(
      'swarmcast replay b-1 sends to the 14 failed sockets; the counts still missing a grace past the deadline are lost',
    );
    expect(renderStatus(noneFailed)).not.toContain('swarmcast replay b-1 sends');
    expect(renderStatus(noneFailed)).toContain("look for delivery tasks on the shard queues' dead-letter queues");
  });

  it('after DeliveryTimeout with no failed socket it refuses, saying why: the unaccounted clients may have the message', () => {
    const timedOut = execution('b-1', {
      status: 'FAILED',
      error: 'DeliveryTimeout',
      partitions,
      delivery: { enqueued: 25, accounted: 0, delivered: 0, gone: 0, failed: 0 },
    });

    expect(() => planReplay(timedOut, timedOut)).toThrow(
      /b-1 ended with no failed socket to replay \(0 of 25 connections accounted for\); the counts that never came are not replayed/,
    );
  });

  it('does nothing when every partition was reached', () => {
    const broadcast = execution('b-1', { summary: summary([]) });

    expect(planReplay(broadcast, broadcast)).toEqual({
      action: 'nothing',
      reason: 'nothing failed: b-1 reached every partition it planned (10) and every socket; nothing to replay',
    });
  });

  it('refuses while it still runs, and when a broadcast failed before sending anything', () => {
    const running = execution('b-1', { status: 'RUNNING' });
    const rejected = execution('b-1', { status: 'FAILED', error: 'InvalidBroadcastError' });

    expect(() => planReplay(running, running)).toThrow(CliError);
    expect(() => planReplay(running, running)).toThrow(/b-1 is still running: wait for it to end/);
    expect(() => planReplay(rejected, rejected)).toThrow(
      /failed before visiting any partition \(InvalidBroadcastError\), so nothing was sent/,
    );
  });
});

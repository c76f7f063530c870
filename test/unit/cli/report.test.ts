/**
 * The exit code `send --wait`, `replay --wait` and `sweep --wait` end with (cli/report.ts): 0 only
 * when every partition was reached and no socket failed; 2 otherwise, also when the execution
 * succeeded within its tolerances, so a script knows a replay is due.
 */
import type { BroadcastStatus } from '../../../lib/broadcast-status';
import { waitAndReport } from '../../../cli/report';
import type { Target } from '../../../lib/target';
import { watchUntilDone } from '../../../cli/watch';

jest.mock('../../../cli/watch');
const watched = jest.mocked(watchUntilDone);

const summary = {
  broadcastId: 'b-1',
  partitions: 24,
  failedPartitions: [] as number[],
  connections: 240,
  delivered: 240,
  gone: 0,
  failed: 0,
  failedBy: {},
  unanswered: 0,
  durationMs: 900,
};
const final = (overrides: Partial<BroadcastStatus>): BroadcastStatus =>
  ({
    id: 'b-1',
    broadcastId: 'b-1',
    kind: 'broadcast',
    status: 'SUCCEEDED',
    executionArn: 'arn:aws:states:us-east-1:000000000000:execution:m:b-1',
    redriveCount: 0,
    replays: [],
    summary,
    ...overrides,
  }) as BroadcastStatus;

beforeEach(() => {
  process.exitCode = undefined;
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterAll(() => {
  process.exitCode = undefined;
});

test.each([
  ['succeeded, every socket delivered', undefined, final({})],
  [
    'succeeded with one partition not reached, within the tolerance',
    2,
    final({ summary: { ...summary, failedPartitions: [7], connections: 230, delivered: 230 } }),
  ],
  [
    'succeeded with failed sockets, within the tolerance',
    2,
    final({ summary: { ...summary, delivered: 238, failed: 2 } }),
  ],
  ['failed (DeliveryIncomplete)', 2, final({ status: 'FAILED', error: 'DeliveryIncomplete', summary: undefined })],
  ['timed out (DeliveryTimeout)', 2, final({ status: 'FAILED', error: 'DeliveryTimeout', summary: undefined })],
  ['aborted', 2, final({ status: 'ABORTED', summary: undefined })],
])('%s: exit code %s', async (_, exitCode, status) => {
  watched.mockResolvedValue(status);
  await waitAndReport({} as Target, 'b-1', { json: true });
  expect(process.exitCode).toBe(exitCode);
});

/** The local Map Run's failure tolerance: counted in items (a failed batch fails all its items), as DescribeMapRun counts them. */
import type { PreparedDefinition } from '../../../../local/stepfunctions/definition';
import {
  type ChildRun,
  type ChildRunStatus,
  MapRun,
  type MapRunSettings,
} from '../../../../local/stepfunctions/map-run';

const run = (status: ChildRunStatus): ChildRun => ({ status, stop: () => undefined });

function mapRun(settings: Partial<MapRunSettings>, children: { items: number; status?: ChildRunStatus }[]) {
  return new MapRun(
    'arn:aws:states:us-east-1:000000000000:execution:m:e',
    'arn:aws:states:us-east-1:000000000000:stateMachine:m',
    'm',
    'FanOut',
    'FanOut',
    { maxConcurrency: 10, ...settings },
    children.map(({ items, status }, index) => ({
      index,
      itemCount: items,
      input: {},
      execution: status && run(status),
    })),
    {} as PreparedDefinition,
  );
}

describe('MapRun.exceedsTolerance', () => {
  it('without a tolerance, any failed item fails the run', () => {
    expect(
      mapRun({}, [
        { items: 10, status: 'SUCCEEDED' },
        { items: 1, status: 'FAILED' },
      ]).exceedsTolerance(),
    ).toBe(true);
    expect(mapRun({}, [{ items: 10, status: 'SUCCEEDED' }, { items: 1 }]).exceedsTolerance()).toBe(false);
  });

  it('a percentage is of items, not of child executions: a failed batch of 3 out of 10 items is 30%', () => {
    const children = [
      { items: 7, status: 'SUCCEEDED' as const },
      { items: 3, status: 'FAILED' as const },
    ];
    expect(mapRun({ toleratedFailurePercentage: 30 }, children).exceedsTolerance()).toBe(false);
    expect(mapRun({ toleratedFailurePercentage: 29 }, children).exceedsTolerance()).toBe(true);
  });

  it('timed-out children count as failed; aborted and running ones do not', () => {
    expect(mapRun({ toleratedFailureCount: 1 }, [{ items: 2, status: 'TIMED_OUT' }]).exceedsTolerance()).toBe(true);
    expect(
      mapRun({ toleratedFailureCount: 0 }, [
        { items: 2, status: 'ABORTED' },
        { items: 2, status: 'RUNNING' },
      ]).exceedsTolerance(),
    ).toBe(false);
  });

  it('counts items and executions apart for DescribeMapRun', () => {
    const counts = mapRun({}, [
      { items: 4, status: 'SUCCEEDED' },
      { items: 2, status: 'FAILED' },
      { items: 1 },
    ]).counts();
    expect(counts.itemCounts).toMatchObject({ total: 7, succeeded: 4, failed: 2, pending: 1 });
    expect(counts.executionCounts).toMatchObject({ total: 3, succeeded: 1, failed: 1, pending: 1 });
  });
});

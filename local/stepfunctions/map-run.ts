/**
 * The Map Run record of one Distributed Map state run: its children (one per batch), their
 * executions, and the counts DescribeMapRun reports. Kept across redrives, so a redrive
 * re-runs only the children that did not succeed.
 */
import { mapRunArn } from './arns';
import type { PreparedDefinition } from './definition';

export type MapRunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
export type ChildRunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** What a Map Run needs of a child's execution (execution.ts's Execution is one): its status, and a way to stop it. */
export interface ChildRun {
  readonly status: ChildRunStatus;
  stop(error: string, cause: string): void;
}

export interface MapRunChild<Run extends ChildRun = ChildRun> {
  index: number;
  /** Items this child processes: 1, or the batch size with an ItemBatcher. */
  itemCount: number;
  input: unknown;
  execution?: Run;
}

export interface MapRunSettings {
  maxConcurrency: number;
  toleratedFailurePercentage?: number;
  toleratedFailureCount?: number;
}

const FAILED_STATUSES: ChildRunStatus[] = ['FAILED', 'TIMED_OUT'];

export class MapRun<Run extends ChildRun = ChildRun> {
  readonly arn: string;
  readonly startDate = new Date();
  stopDate?: Date;
  status: MapRunStatus = 'RUNNING';
  redriveCount = 0;
  redriveDate?: Date;

  constructor(
    readonly executionArn: string,
    readonly stateMachineArn: string,
    stateMachineName: string,
    /** The Map state's name, and its Label (the state name unless the ASL sets one). */
    readonly stateName: string,
    readonly label: string,
    readonly settings: MapRunSettings,
    readonly children: MapRunChild<Run>[],
    /** The ItemProcessor each child runs as its own state machine. */
    readonly processor: PreparedDefinition,
  ) {
    this.arn = mapRunArn(stateMachineName, label);
  }

  childStatus(child: MapRunChild<Run>): ChildRunStatus | 'PENDING' {
    return child.execution?.status ?? 'PENDING';
  }

  /** Past ToleratedFailurePercentage/Count (counted in items, as a failed batch fails all its items); no tolerance set means none. */
  exceedsTolerance(): boolean {
    const { toleratedFailurePercentage: percentage, toleratedFailureCount: count } = this.settings;
    const totalItems = this.children.reduce((sum, child) => sum + child.itemCount, 0);
    const failedItems = this.children
      .filter((child) => FAILED_STATUSES.includes(this.childStatus(child) as ChildRunStatus))
      .reduce((sum, child) => sum + child.itemCount, 0);
    if (percentage === undefined && count === undefined) return failedItems > 0;
    if (count !== undefined && failedItems > count) return true;
    return percentage !== undefined && failedItems * 100 > percentage * totalItems;
  }

  failedChildCount(): number {
    return this.children.filter((child) => FAILED_STATUSES.includes(this.childStatus(child) as ChildRunStatus)).length;
  }

  /** Aborts the children still running (past the tolerance, or the parent was stopped). */
  abortRunning(cause: string): void {
    for (const child of this.children)
      if (child.execution?.status === 'RUNNING') child.execution.stop('States.Aborted', cause);
  }

  finish(status: MapRunStatus): void {
    this.status = status;
    this.stopDate = new Date();
  }

  redrive(): void {
    this.status = 'RUNNING';
    this.stopDate = undefined;
    this.redriveCount += 1;
    this.redriveDate = new Date();
  }

  /** itemCounts and executionCounts of DescribeMapRun. */
  counts() {
    const tally = (weight: (child: MapRunChild<Run>) => number) => {
      const counts = {
        pending: 0,
        running: 0,
        succeeded: 0,
        failed: 0,
        timedOut: 0,
        aborted: 0,
        total: 0,
        resultsWritten: 0,
        failuresNotRedrivable: 0,
        pendingRedrive: 0,
      };
      for (const child of this.children) {
        const n = weight(child);
        counts.total += n;
        const status = this.childStatus(child);
        if (status === 'PENDING') counts.pending += n;
        else if (status === 'RUNNING') counts.running += n;
        else if (status === 'SUCCEEDED') counts.succeeded += n;
        else if (status === 'FAILED') counts.failed += n;
        else if (status === 'TIMED_OUT') counts.timedOut += n;
        else if (status === 'ABORTED') counts.aborted += n;
      }
      return counts;
    };
    return { itemCounts: tally((child) => child.itemCount), executionCounts: tally(() => 1) };
  }
}

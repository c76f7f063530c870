/**
 * The one CloudWatch Metrics instance of every handler (Powertools, embedded metric format:
 * metrics are log lines, no API calls). Dimensioned by service only, never per broadcast, so
 * the number of metrics, and their cost, stays flat. Handlers flush once per invocation.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { AWS_LIMITS } from '#commons/aws-limits';
import type { DeliveryCounts } from '#commons/broadcasts/counts';
import { METRIC, METRIC_NAMESPACE, METRIC_SERVICE } from '#commons/contract';

export const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: METRIC_SERVICE });

/** One datapoint per count per invocation, not one per post: a million posts stay a few log lines. */
export function recordDeliveryCounts({ delivered, gone, failed }: DeliveryCounts): void {
  metrics.addMetric(METRIC.postsDelivered, MetricUnit.Count, delivered);
  metrics.addMetric(METRIC.postsGone, MetricUnit.Count, gone);
  metrics.addMetric(METRIC.postsFailed, MetricUnit.Count, failed);
}

/**
 * Points a duration summary publishes per invocation: enough for CloudWatch's p50/p90/p99 of one
 * invocation to land near the calls' own, and under EMF's values per metric, so the invocation's
 * metrics stay one record.
 */
export const SUMMARY_POINTS = Math.floor(AWS_LIMITS.emfValuesPerMetric.value / 2);
/** Durations a summary keeps (a uniform sample beyond): memory stays bounded whatever the batch size. */
const SUMMARY_SAMPLES = 10_000;

/**
 * The durations of one invocation's calls, published as at most SUMMARY_POINTS values evenly
 * spaced by rank, the last one the largest: a million calls stay a few log lines, and the
 * percentiles and Maximum CloudWatch computes over the points follow the calls'. (SampleCount
 * counts points, not calls; across invocations each weighs by its points.)
 */
export class DurationSummary {
  private readonly samples: number[] = [];
  private seen = 0;

  constructor(private readonly random: () => number = Math.random) {}

  add(ms: number): void {
    this.seen++;
    if (this.samples.length < SUMMARY_SAMPLES) this.samples.push(ms);
    else {
      // Reservoir sampling: every duration seen stays with the same chance.
      const slot = Math.floor(this.random() * this.seen);
      if (slot < SUMMARY_SAMPLES) this.samples[slot] = ms;
    }
  }

  /** The values to publish, rounded to 0.1 ms, in ascending order. */
  points(): number[] {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const n = sorted.length;
    const ranks =
      n <= SUMMARY_POINTS
        ? sorted
        : Array.from({ length: SUMMARY_POINTS }, (_, i) => sorted[Math.ceil(((i + 1) * n) / SUMMARY_POINTS) - 1]);
    return ranks.map((ms) => Math.round(ms * 10) / 10);
  }
}

/** What one consumer invocation's @connections calls met: 429 answers, the time each call took, and the time each waited for its grant from the delivery budget. */
export class CallStats {
  throttled = 0;
  readonly latency = new DurationSummary();
  readonly budgetWait = new DurationSummary();
}

/**
 * PostsThrottled as one count, PostLatency and BudgetWait as summaries (milliseconds). The sweep
 * makes no call, so none of them is the sweep's. An invocation that made no call publishes only its count (0).
 */
export function recordCallStats({ throttled, latency, budgetWait }: CallStats): void {
  metrics.addMetric(METRIC.postsThrottled, MetricUnit.Count, throttled);
  for (const ms of latency.points()) metrics.addMetric(METRIC.postLatency, MetricUnit.Milliseconds, ms);
  for (const ms of budgetWait.points()) metrics.addMetric(METRIC.budgetWait, MetricUnit.Milliseconds, ms);
}

export function recordFanOut(partitions: number, connections: number): void {
  metrics.addMetric(METRIC.partitionsFannedOut, MetricUnit.Count, partitions);
  metrics.addMetric(METRIC.connectionsEnqueued, MetricUnit.Count, connections);
}

export function recordConnect(): void {
  metrics.addMetric(METRIC.connects, MetricUnit.Count, 1);
}

/**
 * Runs one invocation's work and always flushes what it recorded, even when it throws. An
 * invocation that failed before recording anything flushes nothing (Powertools would warn).
 */
export async function withMetrics<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}

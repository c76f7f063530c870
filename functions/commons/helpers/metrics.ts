/**
 * The one CloudWatch Metrics instance of every handler (Powertools, embedded metric format:
 * metrics are log lines, no API calls). Dimensioned by service only, never per broadcast, so
 * the number of metrics, and their cost, stays flat. Handlers flush once per invocation.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DeliveryCounts } from '#commons/broadcasts';

export const metrics = new Metrics({ namespace: 'Swarmcast', serviceName: 'swarmcast' });

export const METRIC = {
  postsDelivered: 'PostsDelivered',
  postsGone: 'PostsGone',
  postsFailed: 'PostsFailed',
  partitionsFannedOut: 'PartitionsFannedOut',
  connectionsEnqueued: 'ConnectionsEnqueued',
  connects: 'Connects',
} as const;

/** One datapoint per count per invocation, not one per post: a million posts stay a few log lines. */
export function recordDeliveryCounts({ delivered, gone, failed }: DeliveryCounts): void {
  metrics.addMetric(METRIC.postsDelivered, MetricUnit.Count, delivered);
  metrics.addMetric(METRIC.postsGone, MetricUnit.Count, gone);
  metrics.addMetric(METRIC.postsFailed, MetricUnit.Count, failed);
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

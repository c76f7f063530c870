/**
 * Names of the environment variables the handlers read. The CDK stack and the local
 * stack set them from the same typed configuration (infra/config.ts).
 */
export const ENV = {
  connectionsTable: 'CONNECTIONS_TABLE',
  partitionsTable: 'PARTITIONS_TABLE',
  broadcastsTable: 'BROADCASTS_TABLE',
  partitionCount: 'PARTITION_COUNT',
  connectionTtlSeconds: 'CONNECTION_TTL_SECONDS',
  shardQueueUrls: 'SHARD_QUEUE_URLS',
  connectionsEndpoint: 'CONNECTIONS_ENDPOINT',
  mapMaxConcurrency: 'MAP_MAX_CONCURRENCY',
  partitionsPerChild: 'PARTITIONS_PER_CHILD',
  toleratedFailurePercentage: 'TOLERATED_FAILURE_PERCENTAGE',
  progressPollSeconds: 'PROGRESS_POLL_SECONDS',
  deliveryTimeoutSeconds: 'DELIVERY_TIMEOUT_SECONDS',
  connectionIdsPerMessage: 'CONNECTION_IDS_PER_MESSAGE',
  queryConcurrency: 'QUERY_CONCURRENCY',
  postConcurrency: 'POST_CONCURRENCY',
  postRetriesPerInvocation: 'POST_RETRIES_PER_INVOCATION',
  maxDeliveryAttempts: 'MAX_DELIVERY_ATTEMPTS',
  rateBudgetTable: 'RATE_BUDGET_TABLE',
  deliveryRatePerSecond: 'DELIVERY_RATE_PER_SECOND',
  sweepRatePerSecond: 'SWEEP_RATE_PER_SECOND',
} as const;

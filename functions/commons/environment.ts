/**
 * Names of the environment variables the handlers read. The CDK stack and the local
 * stack set them from the same typed configuration (infra/config.ts).
 */
export const ENV = {
  connectionsTable: 'CONNECTIONS_TABLE',
  /** Channel memberships (functions/commons/memberships.ts). */
  subscriptionsTable: 'SUBSCRIPTIONS_TABLE',
  /** A channel's members are spread over this many partitions (docs/channels.md). */
  channelPartitions: 'CHANNEL_PARTITIONS',
  maxChannelsPerConnection: 'MAX_CHANNELS_PER_CONNECTION',
  broadcastsTable: 'BROADCASTS_TABLE',
  partitionCount: 'PARTITION_COUNT',
  connectionTtlSeconds: 'CONNECTION_TTL_SECONDS',
  /** Shard k's queue URL is SHARD_QUEUE_URL_PREFIX + k, for k below SHARD_COUNT (commons/shard-queues.ts). */
  shardQueueUrlPrefix: 'SHARD_QUEUE_URL_PREFIX',
  shardCount: 'SHARD_COUNT',
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
  /** The $connect authorizer's secret (examples/connect-authorizer.ts), when one is configured. */
  connectAuthorizerSecret: 'CONNECT_AUTHORIZER_SECRET',
  rateBudgetTable: 'RATE_BUDGET_TABLE',
  deliveryRatePerSecond: 'DELIVERY_RATE_PER_SECOND',
  toleratedFailedSocketsPercentage: 'TOLERATED_FAILED_SOCKETS_PERCENTAGE',
  /** 1: every frame is {"broadcastId", "message"} (infra/config.ts broadcastIdEnvelope); 0: the bare message. */
  broadcastIdEnvelope: 'BROADCAST_ID_ENVELOPE',
} as const;

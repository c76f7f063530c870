/**
 * What outside code relies on by name: the CloudWatch namespace and metric names the handlers
 * publish (helpers/metrics.ts) and the dashboard reads, the stack's name, and its output keys
 * (infra/swarmcast-stack.ts writes them, cli/target.ts reads them). One spelling each.
 */

/** Powertools Metrics namespace and service (the one dimension) of every handler's metrics. */
export const METRIC_NAMESPACE = 'Swarmcast';
export const METRIC_SERVICE = 'swarmcast';

export const METRIC = {
  postsDelivered: 'PostsDelivered',
  postsGone: 'PostsGone',
  postsFailed: 'PostsFailed',
  postsThrottled: 'PostsThrottled',
  postLatency: 'PostLatency',
  budgetWait: 'BudgetWait',
  partitionsFannedOut: 'PartitionsFannedOut',
  connectionsEnqueued: 'ConnectionsEnqueued',
  connects: 'Connects',
} as const;

/** The CloudFormation stack infra/app.ts deploys, and the one the CLI reads unless told another. */
export const STACK_NAME = 'Swarmcast';

/** The stack's CfnOutput ids, which are its output keys. */
export const STACK_OUTPUTS = {
  webSocketUrl: 'WebSocketUrl',
  connectionsEndpoint: 'ConnectionsEndpoint',
  stateMachineArn: 'StateMachineArn',
  broadcastsTableName: 'BroadcastsTableName',
  connectionsTableName: 'ConnectionsTableName',
  rateBudgetTableName: 'RateBudgetTableName',
  dashboardUrl: 'DashboardUrl',
} as const;

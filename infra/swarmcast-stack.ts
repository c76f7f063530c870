/**
 * The CDK stack that deploys swarmcast: tables, WebSocket API, functions, shard queues, state
 * machine, sweep schedule and dashboard, all from one typed configuration.
 */
import * as path from 'node:path';
import { CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import type { Construct } from 'constructs';
import { ENV } from '#commons/environment';
import { CONSUMER_TIMEOUT_SECONDS } from '#commons/constants';
import { broadcastsTable, connectionsTable, rateBudgetTable, subscriptionsTable } from '#commons/tables';
import { InvalidConfigError, type SwarmcastConfig } from './config';
import { OperationsDashboard } from './constructs/operations-dashboard';
import { BroadcastStateMachine } from './constructs/broadcast-state-machine';
import { SchemaTable } from './constructs/schema-table';
import { ShardQueues } from './constructs/shard-queues';
import { repoRoot, type StackResources, SwarmcastFunction } from './constructs/swarmcast-function';
import { settingsOf } from './function-settings';
import { WebSocketGateway } from './constructs/websocket-gateway';
import { BROADCAST_ASL_FILE, FUNCTION_ARN_PLACEHOLDERS } from '../statemachines/broadcast-contract';

export interface SwarmcastStackProps extends StackProps {
  /** Every number swarmcast runs with (infra/config.ts resolveConfig). */
  config: SwarmcastConfig;
  /** Continuous backups of the tables. Default off. */
  pointInTimeRecovery?: boolean;
  /** What `cdk destroy` does with the tables. Default DESTROY: rows are connections and expiring broadcast records. */
  tableRemovalPolicy?: RemovalPolicy;
}

/**
 * swarmcast on AWS. A client connects through the WebSocket API (connect -> tables); an operator
 * starts the state machine: prepare-broadcast -> query-partitions in each Distributed Map child
 * -> shard queues -> post-message -> @connections -> each socket.
 */
export class SwarmcastStack extends Stack {
  constructor(scope: Construct, id: string, props: SwarmcastStackProps) {
    super(scope, id, props);
    const { config } = props;
    assertDeployable(config);

    const tableProps = {
      pointInTimeRecovery: props.pointInTimeRecovery,
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.DESTROY,
    };
    const connections = new SchemaTable(this, connectionsTable, tableProps);
    const broadcasts = new SchemaTable(this, broadcastsTable, tableProps);
    const rateBudget = new SchemaTable(this, rateBudgetTable, tableProps);
    const memberships = new SchemaTable(this, subscriptionsTable, tableProps);
    // What each function may get: it takes what functions/manifest.ts names for it.
    const resources: StackResources = {
      tables: { connections, broadcasts, rateBudget, subscriptions: memberships },
      settings: settingsOf(config),
    };

    // WebSocket routes: short, latency-bound calls (API Gateway waits at most 29 s anyway). They get
    // reserved concurrency rather than capping the consumers: consumers and map children may use up
    // the account's pool during a broadcast, and a reservation is the only guarantee that clients
    // can still connect and leave (a cap on the others would depend on every other function too).
    // 0 reserves nothing (the default: a new account may lack the concurrency to reserve).
    const routeConcurrency = { reservedConcurrentExecutions: config.routeReservedConcurrency || undefined };
    const connect = new SwarmcastFunction(this, 'Connect', {
      name: 'connect',
      description: 'WebSocket $connect: store the connection in the partition its id hashes to.',
      ...routeConcurrency,
    }).bindManifest(resources);
    const disconnect = new SwarmcastFunction(this, 'Disconnect', {
      name: 'disconnect',
      description: 'WebSocket $disconnect: remove the connection.',
      ...routeConcurrency,
    }).bindManifest(resources);
    // Not 'Default': CDK drops that word from logical ids.
    const defaultRoute = new SwarmcastFunction(this, 'DefaultRoute', {
      name: 'default',
      description: 'WebSocket $default: answers the old keep-alive "ping" with "pong".',
    }).bindManifest(resources);

    const subscriptionsRoute = new SwarmcastFunction(this, 'SubscriptionsRoute', {
      name: 'subscriptions',
      description: 'WebSocket subscribe/unsubscribe: join or leave a channel.',
      ...routeConcurrency,
    }).bindManifest(resources);

    // $default and the subscription routes answer through the route response, so they need no @connections access.
    const gateway = new WebSocketGateway(this, 'WebSocket', {
      stageName: config.stageName,
      connect,
      disconnect,
      defaultRoute,
      subscriptions: subscriptionsRoute,
      connectAuthorizer: config.connectAuthorizer
        ? this.connectAuthorizer(config.connectAuthorizer, routeConcurrency)
        : undefined,
      throttle: { rateLimit: config.routeThrottleRatePerSecond, burstLimit: config.routeThrottleBurst },
      accessLogs: config.accessLogs,
    });

    // The delivery hot loop: one PostToConnection per socket, CPU-bound in signing and I/O
    // bookkeeping, so it gets a full vCPU (1,769 MB) and a timeout that leaves room for 429 back-off.
    const postMessageTimeout = Duration.seconds(CONSUMER_TIMEOUT_SECONDS);
    const postMessage = new SwarmcastFunction(this, 'PostMessage', {
      name: 'post-message',
      description: 'Shard queue consumer: post the message to each connection id, sweep gone ones.',
      memorySize: 1769,
      timeout: postMessageTimeout,
    });
    const consumerBatchingWindow = Duration.seconds(config.consumerBatchingWindowSeconds);
    const shardQueues = new ShardQueues(this, 'ShardQueues', {
      shards: config.shards,
      maxReceiveCount: config.maxReceiveCount,
      consumerTimeout: postMessageTimeout,
      batchingWindow: consumerBatchingWindow,
    });
    resources.shardQueues = shardQueues;
    resources.stage = gateway.stage;
    postMessage.bindManifest(resources);
    shardQueues.addConsumer(postMessage, {
      batchSize: config.consumerBatchSize,
      maxBatchingWindow: consumerBatchingWindow,
      maxConcurrency: config.consumerMaxConcurrency,
    });

    // The state machine's tasks. The Distributed Map numbers reach the ASL through Prepare's
    // output ($.config), so changing them needs no new state machine definition.
    const prepareBroadcast = new SwarmcastFunction(this, 'PrepareBroadcast', {
      name: 'prepare-broadcast',
      description: 'State machine Prepare: validate the input, store the broadcast, list the partitions.',
      timeout: Duration.seconds(30),
    }).bindManifest(resources);
    // Reads whole partitions (paginated Query) and enqueues them: more memory for more CPU and
    // network, and minutes of timeout for the largest partitions.
    const queryPartitions = new SwarmcastFunction(this, 'QueryPartitions', {
      name: 'query-partitions',
      description: 'Distributed Map child: query its partitions, enqueue connection ids on the shard queues.',
      memorySize: 1024,
      timeout: Duration.minutes(5),
    }).bindManifest(resources);
    const readProgress = new SwarmcastFunction(this, 'ReadProgress', {
      name: 'read-progress',
      description: 'State machine ReadProgress: the broadcast counters, done or timed out.',
    }).bindManifest(resources);

    const stateMachineName = `${this.stackName}-broadcast`;
    const broadcast = new BroadcastStateMachine(this, 'Broadcast', {
      definitionFile: BROADCAST_ASL_FILE,
      stateMachineName,
      functions: {
        [FUNCTION_ARN_PLACEHOLDERS['prepare-broadcast']]: prepareBroadcast,
        [FUNCTION_ARN_PLACEHOLDERS['query-partitions']]: queryPartitions,
        [FUNCTION_ARN_PLACEHOLDERS['read-progress']]: readProgress,
      },
    });

    // $disconnect is best effort: the scheduled sweep finds and removes stale connections. A sweep
    // EventBridge could not start (throttled, permissions) lands in a DLQ instead of vanishing.
    const sweepDeadLetters = new Queue(this, 'SweepScheduleDlq', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    for (const id of ['Serverless::Serverless-SQSRedrivePolicy', 'AwsSolutions::AwsSolutions-SQS3']) {
      Validations.of(sweepDeadLetters).acknowledge({
        id,
        reason: 'A dead-letter queue is where failed events end: it has no DLQ of its own.',
      });
    }
    new Rule(this, 'SweepSchedule', {
      description: 'swarmcast: periodic stale-connection sweep.',
      schedule: Schedule.expression(config.sweepSchedule),
      targets: [
        new SfnStateMachine(broadcast.stateMachine, {
          input: RuleTargetInput.fromObject({ kind: 'sweep' }),
          deadLetterQueue: sweepDeadLetters,
        }),
      ],
    });

    const operations = new OperationsDashboard(this, 'Operations', {
      dashboardName: `${this.stackName}-operations`,
      deliveryRatePerSecond: config.deliveryRatePerSecond,
      alarmPeriod: Duration.minutes(config.alarmPeriodMinutes),
      throttling: { percentage: config.throttlingAlarmPercentage, periods: config.throttlingAlarmPeriods },
      queues: shardQueues.queues,
      deadLetterQueues: [...shardQueues.deadLetterQueues, sweepDeadLetters],
      consumer: postMessage,
      fanOut: queryPartitions,
      stateMachine: broadcast.stateMachine,
    });

    new CfnOutput(this, 'WebSocketUrl', { value: gateway.url, description: 'Clients connect here.' });
    new CfnOutput(this, 'ConnectionsEndpoint', {
      value: gateway.connectionsEndpoint,
      description: '@connections management API base.',
    });
    new CfnOutput(this, 'StateMachineArn', {
      value: broadcast.stateMachine.stateMachineArn,
      description: 'Start a broadcast here.',
    });
    new CfnOutput(this, 'BroadcastsTableName', { value: broadcasts.tableName });
    new CfnOutput(this, 'ConnectionsTableName', { value: connections.tableName });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${operations.dashboard.dashboardName}`,
      description: 'Watch broadcasts here (README: Watching a broadcast on AWS).',
    });
  }

  /** The deployer's $connect authorizer; its secret is a NoEcho stack parameter, never in the template. */
  private connectAuthorizer(
    entryFile: string,
    concurrency: { reservedConcurrentExecutions?: number },
  ): SwarmcastFunction {
    const secret = new CfnParameter(this, 'ConnectAuthorizerSecret', {
      type: 'String',
      noEcho: true,
      minLength: 16,
      maxLength: CONNECT_AUTHORIZER_SECRET_MAX_LENGTH,
      description:
        'Secret of the $connect authorizer (CONNECT_AUTHORIZER_SECRET), e.g. the HMAC key of examples/connect-authorizer.ts.',
    });
    return new SwarmcastFunction(this, 'ConnectAuthorizer', {
      name: 'connect-authorizer',
      entry: path.resolve(repoRoot, entryFile),
      description: 'WebSocket $connect authorizer: who may connect.',
      ...concurrency,
    }).bindSecret(ENV.connectAuthorizerSecret, secret.valueAsString);
  }
}

/** Bounds the authorizer's secret, so the Lambda environment stays under 4 KB whatever is passed. */
export const CONNECT_AUTHORIZER_SECRET_MAX_LENGTH = 256;

/** A combination resolveConfig accepts key by key but AWS rejects: fail at synth, naming the settings. */
function assertDeployable(config: SwarmcastConfig): void {
  if (config.consumerBatchSize > 10 && config.consumerBatchingWindowSeconds < 1) {
    throw new InvalidConfigError(
      `swarmcast setting consumerBatchSize=${config.consumerBatchSize} needs consumerBatchingWindowSeconds >= 1 (SQS event sources allow more than 10 messages only with a batching window)`,
    );
  }
}

/**
 * The CDK stack that deploys swarmcast: tables, WebSocket API, functions, shard queues, state
 * machine, sweep schedule and dashboard, all from one typed configuration.
 */
import * as path from 'node:path';
import { CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import type { Construct } from 'constructs';
import { ENV } from '#commons/environment';
import { STACK_OUTPUTS } from '#commons/contract';
import { broadcastsTable, connectionsTable, rateBudgetTable, subscriptionsTable } from '#commons/tables';
import { InvalidConfigError, type SwarmcastConfig } from './config';
import { OperationsDashboard } from './constructs/operations-dashboard';
import { BroadcastStateMachine } from './constructs/broadcast-state-machine';
import { SchemaTable } from './constructs/schema-table';
import { ShardQueues } from './constructs/shard-queues';
import { repoRoot, type StackResources, SwarmcastFunction } from './constructs/swarmcast-function';
import { WebSocketGateway } from './constructs/websocket-gateway';
import { CellAccessRole } from './constructs/cell-access-role';
import { BROADCAST_ASL_FILE } from '../statemachines/broadcast-contract';
import { type CatalogEntry, catalogEntries, type FunctionName, routesOf, type Trigger } from '../functions/catalog';

export interface SwarmcastStackProps extends StackProps {
  /** Every number swarmcast runs with (infra/config.ts resolveConfig). */
  config: SwarmcastConfig;
  /** Continuous backups of the tables. Default off. */
  pointInTimeRecovery?: boolean;
  /** What `cdk destroy` does with the tables. Default DESTROY: rows are connections and expiring broadcast records. */
  tableRemovalPolicy?: RemovalPolicy;
  /** Opt-in, for a cell of a fleet: the coordinator's role (its CoordinatorRoleArn output), trusted by the SwarmcastCellAccess role. Default: no such role. */
  coordinatorRoleArn?: string;
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
    // One budget per account and Region: a stack may draw on another stack's instead of its own.
    const rateBudget = config.sharedRateBudgetTable
      ? TableV2.fromTableName(this, 'SharedRateBudget', config.sharedRateBudgetTable)
      : new SchemaTable(this, rateBudgetTable, tableProps);
    const memberships = new SchemaTable(this, subscriptionsTable, tableProps);
    // Routes get reserved concurrency (functions/catalog.ts says which, and why). 0 reserves
    // nothing (the default: a new account may lack the concurrency to reserve).
    const routeReservedConcurrency = config.routeReservedConcurrency || undefined;
    // Every function of functions/catalog.ts, then what triggers it, once per kind of trigger.
    const functions = new Map<FunctionName, SwarmcastFunction>();
    for (const [name, entry] of catalogEntries()) {
      functions.set(
        name,
        new SwarmcastFunction(this, entry.constructId, {
          name,
          entry: path.join(repoRoot, 'functions', entry.handler),
          description: entry.description,
          memorySize: entry.memoryMb,
          timeout: Duration.seconds(entry.timeoutSeconds),
          reservedConcurrentExecutions: reservesRouteConcurrency(entry) ? routeReservedConcurrency : undefined,
        }),
      );
    }
    const triggered = <K extends Trigger['kind']>(kind: K) =>
      catalogEntries().flatMap(([name, entry]) =>
        entry.trigger.kind === kind
          ? [{ fn: functions.get(name)!, entry, trigger: entry.trigger as Extract<Trigger, { kind: K }> }]
          : [],
      );

    const gateway = new WebSocketGateway(this, 'WebSocket', {
      stageName: config.stageName,
      routes: Object.fromEntries(
        triggered('route').flatMap(({ fn, trigger }) => routesOf(trigger).map((route) => [route, fn])),
      ),
      connectAuthorizer: config.connectAuthorizer
        ? this.connectAuthorizer(config.connectAuthorizer, routeReservedConcurrency)
        : undefined,
      throttle: { rateLimit: config.routeThrottleRatePerSecond, burstLimit: config.routeThrottleBurst },
      accessLogs: config.accessLogs,
    });

    const consumers = triggered('shardQueueConsumer');
    const consumerBatchingWindow = Duration.seconds(config.consumerBatchingWindowSeconds);
    const shardQueues = new ShardQueues(this, 'ShardQueues', {
      shards: config.shards,
      maxReceiveCount: config.maxReceiveCount,
      // The visibility timeout follows the longest consumer's timeout.
      consumerTimeout: Duration.seconds(Math.max(0, ...consumers.map(({ entry }) => entry.timeoutSeconds))),
      batchingWindow: consumerBatchingWindow,
    });

    // What each function may get: it takes what functions/catalog.ts names for it.
    const resources: StackResources = {
      tables: { connections, broadcasts, rateBudget, subscriptions: memberships },
      shardQueues,
      stage: gateway.stage,
      settings: config,
    };
    for (const fn of functions.values()) fn.bindCatalog(resources);
    for (const { fn } of consumers) {
      shardQueues.addConsumer(fn, {
        batchSize: config.consumerBatchSize,
        maxBatchingWindow: consumerBatchingWindow,
        maxConcurrency: config.consumerMaxConcurrency,
      });
    }

    const stateMachineName = `${this.stackName}-broadcast`;
    const broadcast = new BroadcastStateMachine(this, 'Broadcast', {
      definitionFile: BROADCAST_ASL_FILE,
      stateMachineName,
      functions: Object.fromEntries(
        triggered('stateMachineTask').map(({ fn, trigger }) => [trigger.arnPlaceholder, fn]),
      ),
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
      consumer: functions.get('post-message')!,
      fanOut: functions.get('query-partitions')!,
      stateMachine: broadcast.stateMachine,
    });

    new CfnOutput(this, STACK_OUTPUTS.webSocketUrl, { value: gateway.url, description: 'Clients connect here.' });
    new CfnOutput(this, STACK_OUTPUTS.connectionsEndpoint, {
      value: gateway.connectionsEndpoint,
      description: '@connections management API base.',
    });
    new CfnOutput(this, STACK_OUTPUTS.stateMachineArn, {
      value: broadcast.stateMachine.stateMachineArn,
      description: 'Start a broadcast here.',
    });
    if (props.coordinatorRoleArn) {
      const access = new CellAccessRole(this, 'CellAccess', {
        coordinatorRoleArn: props.coordinatorRoleArn,
        stateMachineName,
        roleName: `${this.stackName}-cell-access`,
      });
      new CfnOutput(this, 'CellAccessRoleArn', {
        value: access.role.roleArn,
        description:
          "The fleet file's roleArn of this cell: what the coordinator assumes to start and read its broadcasts.",
      });
    }
    new CfnOutput(this, STACK_OUTPUTS.broadcastsTableName, { value: broadcasts.tableName });
    new CfnOutput(this, STACK_OUTPUTS.connectionsTableName, { value: connections.tableName });
    new CfnOutput(this, STACK_OUTPUTS.rateBudgetTableName, {
      value: rateBudget.tableName,
      description:
        'The delivery budget; another stack in this account and Region can share it (sharedRateBudgetTable).',
    });
    new CfnOutput(this, STACK_OUTPUTS.dashboardUrl, {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${operations.dashboard.dashboardName}`,
      description: 'Watch broadcasts here (docs/operations.md: Watching a broadcast on AWS).',
    });
  }

  /** The deployer's $connect authorizer; its secret is a NoEcho stack parameter, never in the template. */
  private connectAuthorizer(entryFile: string, reservedConcurrentExecutions: number | undefined): SwarmcastFunction {
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
      reservedConcurrentExecutions,
    }).bindSecret(ENV.connectAuthorizerSecret, secret.valueAsString);
  }
}

/** Whether the function is a WebSocket route that gets the configured reserved concurrency. */
function reservesRouteConcurrency(entry: CatalogEntry): boolean {
  return entry.trigger.kind === 'route' && entry.trigger.reservedConcurrency;
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

/**
 * The project's Lambda construct: every handler is deployed through it, so the defaults and grants
 * are fixed in one place.
 */
import * as path from 'node:path';
import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRIC_NAMESPACE, METRIC_SERVICE } from '#commons/contract';
import { ENV } from '#commons/environment';
import { HANDLER_BUNDLE } from '../handler-bundle';
import { type HandlerSetting, type SettingValue, settingEnvironment } from '#commons/settings';
import {
  FUNCTION_CATALOG,
  type CatalogEntry,
  type FunctionName,
  type ManagementMethod,
  TABLE_VARIABLES,
  type TableAccess,
  type TableName,
} from '../../functions/catalog';

export type { FunctionName } from '../../functions/catalog';
import type { CoordinatorFunctionName } from '../../statemachines/fleet-contract';

/** What every function runs with besides its catalog entry's variables: source maps, and where Powertools Metrics publish. */
export const RUNTIME_ENVIRONMENT = {
  NODE_OPTIONS: '--enable-source-maps',
  POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
  POWERTOOLS_SERVICE_NAME: METRIC_SERVICE,
} as const;

/** The repository root: entry files, package-lock.json and tsconfig.json are resolved from here, never from the cwd. */
export const repoRoot = path.join(__dirname, '..', '..');

/** The deployer's own $connect authorizer: not one of swarmcast's handlers, so not in the catalog. */
export type AuthorizerName = 'connect-authorizer';

export interface SwarmcastFunctionProps {
  /** Its key in functions/catalog.ts, the authorizer's name, or a coordinator function's (statemachines/fleet-contract.ts). */
  name: FunctionName | AuthorizerName | CoordinatorFunctionName;
  /** A fixed role name, for a role another account's trust policy names before this stack exists. Default: generated. */
  roleName?: string;
  /** The entry file (absolute), which exports `handler`. */
  entry: string;
  /** Concurrency set aside for this function alone (and its cap). Default: none, the account's unreserved pool. */
  reservedConcurrentExecutions?: number;
  description?: string;
  /** Default 256 MB; on Lambda, CPU grows with memory, so CPU-bound handlers ask for more. */
  memorySize?: number;
  /** Default 10 s. */
  timeout?: Duration;
  /** Default one month. */
  logRetention?: RetentionDays;
}

/** The shard queues in shard order, and the URL prefix that names them (shard k = prefix + k). */
export interface ShardQueueBinding {
  queues: readonly IQueue[];
  urlPrefix: string;
}

/** What the stack offers; each function takes what its catalog entry names. */
export interface StackResources {
  tables: Record<TableName, ITableV2>;
  shardQueues?: ShardQueueBinding;
  /** The WebSocket stage whose @connections API the function calls. */
  stage?: WebSocketStage;
  /** The configuration's value of every setting a handler may read. */
  settings: { readonly [K in HandlerSetting]: SettingValue<K> };
}

/**
 * A swarmcast Lambda function: the defaults live here (Node 22 on arm64, local esbuild
 * bundling, X-Ray, a log group with retention), and `bindCatalog` grants exactly the access
 * the handler's entry in functions/catalog.ts names *and* sets the variables it reads.
 */
export class SwarmcastFunction extends NodejsFunction {
  /** The function's key in functions/catalog.ts (or the authorizer's name). */
  readonly handlerName: SwarmcastFunctionProps['name'];

  constructor(scope: Construct, id: string, props: SwarmcastFunctionProps) {
    // Sibling constructs because `this` does not exist before super(). An explicit log group gets
    // a retention without the log-retention custom resource; an explicit role may write to that
    // log group only, instead of the managed AWSLambdaBasicExecutionRole's every log group.
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      roleName: props.roleName,
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      role,
      entry: props.entry,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      logGroup,
      projectRoot: repoRoot,
      depsLockFilePath: path.join(repoRoot, 'package-lock.json'),
      environment: { ...RUNTIME_ENVIRONMENT },
      bundling: {
        // esbuild is a devDependency: bundle on this machine, never in Docker.
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: HANDLER_BUNDLE.target,
        tsconfig: path.join(repoRoot, 'tsconfig.json'),
        // Bundle the pinned AWS SDK too instead of using the runtime's copy: what was tested is what runs.
        externalModules: [],
        minify: HANDLER_BUNDLE.minify,
        keepNames: HANDLER_BUNDLE.keepNames,
        sourceMap: HANDLER_BUNDLE.sourceMap,
        sourcesContent: false,
        // esbuild's per-file size report is noise in `cdk synth` and test output.
        logLevel: LogLevel.WARNING,
      },
    });
    this.handlerName = props.name;
    this.acknowledgeCommonFindings(role);
  }

  /** The findings every swarmcast function shares, each a deliberate choice. */
  private acknowledgeCommonFindings(role: Role): void {
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing: xray:PutTraceSegments and PutTelemetryRecords have no resource-level permissions.',
    });
    const runtime =
      'Node 22 is the Node the project runs and tests on (node@22 from node_modules); moving to a newer runtime is a deliberate upgrade of both together.';
    Validations.of(this).acknowledge({ id: 'AwsSolutions::AwsSolutions-L1', reason: runtime });
    Validations.of(this).acknowledge({ id: 'Serverless::Serverless-LambdaLatestVersion', reason: runtime });
    Validations.of(this).acknowledge({
      id: 'Serverless::Serverless-LambdaDLQ',
      reason:
        'Invoked synchronously only (API Gateway routes, Step Functions tasks, the SQS event source, whose queues have their own DLQs): no asynchronous event for a function DLQ to keep.',
    });
  }

  /** Environment variables and grants, exactly what functions/catalog.ts lists for this handler. */
  bindCatalog(resources: StackResources): this {
    if (!(this.handlerName in FUNCTION_CATALOG))
      throw new Error(`${this.handlerName} has no entry in functions/catalog.ts`);
    const name = this.handlerName as FunctionName;
    const needs: CatalogEntry = FUNCTION_CATALOG[name];
    for (const [table, access] of Object.entries(needs.tables) as [TableName, TableAccess][]) {
      this.bindTable(TABLE_VARIABLES[table], resources.tables[table], access);
    }
    if (needs.sendsToShardQueues) this.bindShardQueues(required(resources.shardQueues, 'shard queues', name));
    if (needs.connectionsApi.length > 0)
      this.bindConnectionsEndpoint(required(resources.stage, 'a WebSocket stage', name), needs.connectionsApi);
    for (const [variable, value] of Object.entries(settingEnvironment(resources.settings, needs.settings)))
      this.addEnvironment(variable, value);
    return this;
  }

  /** A secret the handler reads from its environment (a stack parameter's value, not a literal). */
  bindSecret(variable: string, value: string): this {
    this.addEnvironment(variable, value);
    return this;
  }

  /** SHARD_QUEUE_URL_PREFIX and SHARD_COUNT (shard k = prefix + k), and SendMessage on every shard queue. */
  private bindShardQueues(shardQueues: ShardQueueBinding): void {
    for (const queue of shardQueues.queues) queue.grantSendMessages(this);
    this.addEnvironment(ENV.shardQueueUrlPrefix, shardQueues.urlPrefix);
    this.addEnvironment(ENV.shardCount, String(shardQueues.queues.length));
  }

  /**
   * CONNECTIONS_ENDPOINT (management API base including the stage) and
   * execute-api:ManageConnections on this API's stage @connections only, for the given methods.
   */
  private bindConnectionsEndpoint(stage: WebSocketStage, methods: readonly ManagementMethod[]): void {
    const stack = Stack.of(this);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: methods.map((method) =>
          stack.formatArn({
            service: 'execute-api',
            resource: stage.api.apiId,
            resourceName: `${stage.stageName}/${method}/@connections/*`,
          }),
        ),
      }),
    );
    const apiId = Stack.of(stage).getLogicalId(stage.api.node.defaultChild as CfnElement);
    for (const method of methods) {
      Validations.of(this.role!).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/${stage.stageName}/${method}/@connections/*]`,
        reason:
          'Connection ids exist only at run time: the grant is this stage\'s @connections, for the one method, never the API or "*".',
      });
    }
    this.addEnvironment(ENV.connectionsEndpoint, stage.callbackUrl);
  }

  private bindTable(variable: string, table: ITableV2, access: TableAccess): void {
    if (access === 'read') table.grantReadData(this);
    else if (access === 'write') table.grantWriteData(this);
    else table.grantReadWriteData(this);
    this.addEnvironment(variable, table.tableName);
  }
}

function required<T>(resource: T | undefined, what: string, name: FunctionName): T {
  if (resource === undefined)
    throw new Error(`functions/catalog.ts says ${name} needs ${what}, but the stack bound it without`);
  return resource;
}

import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '#commons/environment';
import { FUNCTION_MANIFEST, type FunctionName, type ManagementMethod, type SettingVariable, TABLE_VARIABLES, type TableAccess, type TableName } from '../../functions/manifest';

export type { FunctionName } from '../../functions/manifest';

/** The repository root: entry files, package-lock.json and tsconfig.json are resolved from here, never from the cwd. */
export const repoRoot = path.join(__dirname, '..', '..');

export interface SwarmcastFunctionProps {
  /** Entry file functions/<name>.ts, which exports `handler`. */
  name: FunctionName;
  description?: string;
  /** Default 256 MB; on Lambda, CPU grows with memory, so CPU-bound handlers ask for more. */
  memorySize?: number;
  /** Default 10 s. */
  timeout?: Duration;
  /** Default one month. */
  logRetention?: RetentionDays;
}

/** What the stack offers; each function takes what its manifest entry names. */
export interface StackResources {
  tables: Record<TableName, ITableV2>;
  shardQueues?: readonly IQueue[];
  /** The WebSocket stage whose @connections API the function calls. */
  stage?: WebSocketStage;
  /** Every numeric setting, keyed by environment variable. */
  settings: Readonly<Record<SettingVariable, number>>;
}

/**
 * A swarmcast Lambda function: the defaults live here (Node 22 on arm64, local esbuild
 * bundling, X-Ray, a log group with retention), and `bindManifest` grants exactly the access
 * the handler's entry in functions/manifest.ts names *and* sets the variables it reads.
 */
export class SwarmcastFunction extends NodejsFunction {
  /** The entry file functions/<handlerName>.ts, and its key in functions/manifest.ts. */
  readonly handlerName: FunctionName;

  constructor(scope: Construct, id: string, props: SwarmcastFunctionProps) {
    super(scope, id, {
      entry: path.join(repoRoot, 'functions', `${props.name}.ts`),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      // A sibling construct because `this` does not exist before super(); an explicit log
      // group gets a retention without the log-retention custom resource.
      logGroup: new LogGroup(scope, `${id}Logs`, {
        retention: props.logRetention ?? RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      projectRoot: repoRoot,
      depsLockFilePath: path.join(repoRoot, 'package-lock.json'),
      environment: { NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        // esbuild is a devDependency: bundle on this machine, never in Docker.
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: 'node22',
        tsconfig: path.join(repoRoot, 'tsconfig.json'),
        // Bundle the pinned AWS SDK too instead of using the runtime's copy: what was tested is what runs.
        externalModules: [],
        minify: true,
        // Class and function names survive minification: readable stack traces and logged error names.
        keepNames: true,
        sourceMap: true,
        sourcesContent: false,
        // esbuild's per-file size report is noise in `cdk synth` and test output.
        logLevel: LogLevel.WARNING,
      },
    });
    this.handlerName = props.name;
  }

  /** Environment variables and grants, exactly what functions/manifest.ts lists for this handler. */
  bindManifest(resources: StackResources): this {
    const needs = FUNCTION_MANIFEST[this.handlerName];
    for (const [table, access] of Object.entries(needs.tables) as [TableName, TableAccess][]) {
      this.bindTable(TABLE_VARIABLES[table], resources.tables[table], access);
    }
    if (needs.sendsToShardQueues) this.bindShardQueues(required(resources.shardQueues, 'shard queues', this.handlerName));
    if (needs.connectionsApi.length > 0) this.bindConnectionsEndpoint(required(resources.stage, 'a WebSocket stage', this.handlerName), needs.connectionsApi);
    for (const variable of needs.settings) this.addEnvironment(variable, String(resources.settings[variable]));
    return this;
  }

  /** SHARD_QUEUE_URLS in shard order (shard k = k-th url) and SendMessage on every shard queue. */
  private bindShardQueues(queues: readonly IQueue[]): void {
    for (const queue of queues) queue.grantSendMessages(this);
    this.addEnvironment(ENV.shardQueueUrls, queues.map((queue) => queue.queueUrl).join(','));
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
  if (resource === undefined) throw new Error(`functions/manifest.ts says ${name} needs ${what}, but the stack bound it without`);
  return resource;
}

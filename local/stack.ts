/**
 * The local stack behind `swarmcast local`, `swarmcast demo` and the integration tests:
 * startLocalStack and what it returns.
 */
import path from 'node:path';
import { resolveConfig, type SwarmcastConfig } from '../infra/config';
import { startDynamoDb, type LocalDynamoDb } from './dynamodb';
import { authorizerEnvironment, functionEnvironment, type LocalResources } from './environment';
import { startConnectionsFaultProxy, type ConnectionsFaultRule } from './connections-fault-proxy';
import { startFaultProxy, type FaultRule } from './fault-proxy';
import { startGateway, type Gateway, type Throttle } from './gateway';
import type { SlowVirtualConnections } from './gateway/options';
import { functionArn, handlerModule } from './lambdas';
import { localWiringPlan } from './wiring';
import { type LocalFunction, startLocalFunction } from './lambda/local-function';
import { LOCAL_REGION, LOCAL_STATE_MACHINE_NAME } from '../lib/local-account';
import type { LocalStackEndpoints } from '../lib/local-stacks';
import { startEventSource, type EventSource } from './sqs/event-source';
import { startSqs, type LocalSqs } from './sqs';
import { startStepFunctions, type LocalStepFunctions } from './stepfunctions';
import { arnSubstitutions, BROADCAST_ASL_FILE } from '../statemachines/broadcast-contract';

export const ASL_FILE = BROADCAST_ASL_FILE;

export interface LocalStackOptions {
  /** Overrides of the stack configuration (infra/config.ts), as on AWS. */
  config?: Partial<SwarmcastConfig>;
  /** Gateway processes; one holds at most ~20,000 sockets here. */
  gatewayWorkers?: number;
  /** Keep the tables on disk here across restarts; in memory when absent. */
  dataDir?: string;
  /** Fixed ports (0 or absent: any free port). */
  gatewayPort?: number;
  stepFunctionsPort?: number;
  /** The Wait state between progress reads, shortened for a local run. */
  progressPollMs?: number;
  /** Idle and maximum socket durations (AWS: 10 minutes, 2 hours); tests shorten them. */
  idleTimeoutMs?: number;
  maxConnectionMs?: number;
  /** Interval of the local TTL reaper. */
  reaperIntervalMs?: number;
  /** API Gateway's account throttle on @connections calls and handshakes (default AWS's 10,000/s, burst 5,000). */
  quota?: Throttle;
  /** New WebSocket connections per second (default AWS's 500). */
  connectRate?: Throttle;
  /** Socket-less connection ids the gateway accepts posts for and counts (local/gateway/virtual-connections.ts). */
  virtualConnections?: number;
  /** Slow readers among the virtual connections (benchmarks). */
  slowVirtualConnections?: SlowVirtualConnections;
  /** Answer chosen DynamoDB requests of the in-process handlers with an error (fault-injection tests). */
  dynamoDbFaults?: FaultRule;
  /** Answer chosen @connections calls of the in-process handlers with an HTTP error (fault-injection tests). */
  connectionsFaults?: ConnectionsFaultRule;
  /** Finished executions the local Step Functions keep, the newest (default 100); older ones are forgotten. */
  keepFinishedExecutions?: number;
  /** Answer chosen SQS requests of the handlers and the shard consumers' poller with an error (fault-injection tests). */
  sqsFaults?: FaultRule;
}

export interface LocalStack extends LocalStackEndpoints {
  config: SwarmcastConfig;
  tableNames: LocalDynamoDb['tableNames'];
  shardQueueUrls: string[];
  dlqUrls: string[];
  dynamoDb: LocalDynamoDb;
  sqs: LocalSqs;
  gateway: Gateway;
  consumers: EventSource;
  stepFunctions: LocalStepFunctions;
  /**
   * Settles with one line if a service the stack cannot do without stops on its own. dynalite and
   * local-aws-sqs keep their state in their own process (the tables unless --data, every queued
   * delivery task): a restarted one would have lost it, so the stack is stopped rather than restarted.
   */
  failed: Promise<string>;
  stop(): Promise<void>;
}

/**
 * The whole pipeline on this machine: DynamoDB (dynalite), SQS (local-aws-sqs), the
 * WebSocket gateway with its @connections API, the shard consumers, and Step Functions
 * running statemachines/broadcast.asl.json — with the handlers from functions/, unchanged.
 * Each service is stopped again if a later one fails to start.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const config = resolveConfig(options.config);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error) => console.error(`swarmcast local: stopping a service failed: ${error}`));
    stops.length = 0;
  };
  try {
    const dynamoDb = await startDynamoDb({
      dataDir: options.dataDir,
      tablePrefix: 'swarmcast',
      reaperIntervalMs: options.reaperIntervalMs,
      region: LOCAL_REGION,
    });
    stops.push(() => dynamoDb.stop());
    // 60 s, not AWS's 6 × the function timeout: a local invocation cannot be cut off, and a task that
    // failed on purpose in a test should come back within the test.
    const sqs = await startSqs({
      shards: config.shards,
      maxReceiveCount: config.maxReceiveCount,
      visibilityTimeoutSeconds: 60,
      region: LOCAL_REGION,
    });
    stops.push(() => sqs.stop());

    const resources: LocalResources = {
      region: LOCAL_REGION,
      dynamoDbEndpoint: dynamoDb.endpoint,
      sqsEndpoint: sqs.endpoint,
      tableNames: dynamoDb.tableNames,
      shardQueueUrls: sqs.shardQueueUrls,
    };
    // Every function of functions/catalog.ts, wired by its trigger (local/wiring.ts).
    const plan = localWiringPlan();
    const gateway = await startGateway({
      handlers: {
        ...Object.fromEntries(plan.routes.map(({ route, name }) => [route, handlerModule(name)])),
        // The deployer's $connect authorizer, run before $connect as API Gateway does.
        ...(config.connectAuthorizer ? { authorizer: path.resolve(__dirname, '..', config.connectAuthorizer) } : {}),
      },
      // Each route's function runs in instances of its own with exactly its environment (local/lambda/).
      routeEnv: {
        ...Object.fromEntries(
          plan.routes.map(({ route, name }) => [route, functionEnvironment(name, config, resources)]),
        ),
        ...(config.connectAuthorizer ? { authorizer: authorizerEnvironment(resources) } : {}),
      },
      instancesPerRoute: config.localInstancesPerFunction,
      workers: options.gatewayWorkers ?? 1,
      port: options.gatewayPort,
      stage: config.stageName,
      idleTimeoutMs: options.idleTimeoutMs,
      maxConnectionMs: options.maxConnectionMs,
      quota: options.quota,
      connectRate: options.connectRate,
      virtualConnections: options.virtualConnections,
      slowVirtualConnections: options.slowVirtualConnections,
    });
    stops.push(() => gateway.stop());

    let handlerDynamoDbEndpoint = dynamoDb.endpoint;
    if (options.dynamoDbFaults) {
      const proxy = await startFaultProxy(dynamoDb.endpoint, options.dynamoDbFaults);
      stops.push(() => proxy.stop());
      handlerDynamoDbEndpoint = proxy.endpoint;
    }
    let handlerConnectionsEndpoint = gateway.connectionsEndpoint;
    if (options.connectionsFaults) {
      const proxy = await startConnectionsFaultProxy(gateway.connectionsEndpoint, options.connectionsFaults);
      stops.push(() => proxy.stop());
      handlerConnectionsEndpoint = proxy.endpoint;
    }
    let handlerSqsEndpoint = sqs.endpoint;
    if (options.sqsFaults) {
      const proxy = await startFaultProxy(sqs.endpoint, options.sqsFaults);
      stops.push(() => proxy.stop());
      handlerSqsEndpoint = proxy.endpoint;
    }
    // The other functions run in the same local Lambda runtime, each with exactly its environment.
    const handlerResources = {
      ...resources,
      dynamoDbEndpoint: handlerDynamoDbEndpoint,
      connectionsEndpoint: handlerConnectionsEndpoint,
      sqsEndpoint: handlerSqsEndpoint,
    };
    const functions = await Promise.allSettled(
      plan.invoked.map((name) =>
        startLocalFunction({
          name,
          modulePath: handlerModule(name),
          env: functionEnvironment(name, config, handlerResources),
          maxInstances: config.localInstancesPerFunction,
        }),
      ),
    );
    for (const started of functions) if (started.status === 'fulfilled') stops.push(() => started.value.stop());
    const failed = functions.find((started) => started.status === 'rejected');
    if (failed) throw failed.reason;
    const handlers = new Map(
      plan.invoked.map((name, i) => [name, (functions[i] as PromiseFulfilledResult<LocalFunction>).value.handler]),
    );

    const consumers = await startEventSource({
      queueUrls: sqs.shardQueueUrls,
      handler: handlers.get(plan.shardQueueConsumer)!,
      batchSize: config.consumerBatchSize,
      batchingWindowSeconds: config.consumerBatchingWindowSeconds,
      maximumConcurrency: config.consumerMaxConcurrency,
      sqsEndpoint: handlerSqsEndpoint,
      region: LOCAL_REGION,
    });
    stops.push(() => consumers.stop());

    const stepFunctions = await startStepFunctions({
      port: options.stepFunctionsPort,
      lambdas: new Map(plan.stateMachineTasks.map((name) => [functionArn(name), handlers.get(name)!])),
      waitOverrideMs: options.progressPollMs ?? 100,
      keepFinishedExecutions: options.keepFinishedExecutions,
    });
    stops.push(() => stepFunctions.stop());
    const stateMachineArn = stepFunctions.registerStateMachine({
      name: LOCAL_STATE_MACHINE_NAME,
      definitionFile: ASL_FILE,
      substitutions: arnSubstitutions(functionArn),
    });

    return {
      config,
      region: LOCAL_REGION,
      webSocketUrl: gateway.webSocketUrl,
      connectionsEndpoint: gateway.connectionsEndpoint,
      stepFunctionsEndpoint: stepFunctions.endpoint,
      dynamoDbEndpoint: dynamoDb.endpoint,
      sqsEndpoint: sqs.endpoint,
      stateMachineArn,
      tableNames: dynamoDb.tableNames,
      shardQueueUrls: sqs.shardQueueUrls,
      dlqUrls: sqs.dlqUrls,
      dynamoDb,
      sqs,
      gateway,
      consumers,
      stepFunctions,
      failed: Promise.race([
        dynamoDb.died.then(
          (how) =>
            `DynamoDB (dynalite) ${how}; ${options.dataDir ? `the tables in ${options.dataDir} are kept` : 'its tables were in memory and are lost'}, so the stack stops: start it again`,
        ),
        // `replay` cannot help: the executions live in this process and stop with it, even with --data.
        sqs.died.then(
          (how) =>
            `SQS (local-aws-sqs) ${how}; the delivery tasks it held were in memory and are lost, and the broadcasts' executions end with the stack, so none can be replayed: start it again and send again what did not arrive (clients that had it get it twice unless they drop repeats by broadcast id: broadcastIdEnvelope)`,
        ),
      ]),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

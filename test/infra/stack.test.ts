import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { ENV } from '#commons/environment';
import { allTables, connectionsTable, rateBudgetTable, subscriptionsTable } from '#commons/tables';
import { MAX_SQS_MESSAGE_BYTES } from '#commons/constants';
import { InvalidConfigError, type SwarmcastConfig } from '../../infra/config';
import { asArray, functionOf, logicalIdOf, policyStatements, synthesize, type Synthesized } from './synth';

/** Every setting away from its default, so a number that is not wired through shows up. */
const overrides = {
  partitions: 300,
  shards: 3,
  mapMaxConcurrency: 7,
  partitionsPerChild: 11,
  toleratedFailurePercentage: 5,
  connectionIdsPerMessage: 50,
  consumerBatchSize: 20,
  consumerBatchingWindowSeconds: 2,
  consumerMaxConcurrency: 5,
  queryConcurrency: 3,
  postConcurrency: 8,
  postRetriesPerInvocation: 1,
  maxDeliveryAttempts: 2,
  maxReceiveCount: 7,
  connectionTtlSeconds: 600,
  progressPollSeconds: 4,
  deliveryTimeoutSeconds: 120,
  deliveryRatePerSecond: 2_000,
  sweepSchedule: 'rate(5 minutes)',
  stageName: 'beta',
  alarmPeriodMinutes: 3,
  throttlingAlarmPercentage: 10,
  throttlingAlarmPeriods: 2,
} satisfies Partial<SwarmcastConfig>;

const stacks: Record<'default config' | 'overridden config', Synthesized> = {} as never;

// Synthesis bundles seven handlers with esbuild: once per file. The second stack only varies
// configuration, so it skips bundling.
beforeAll(() => {
  stacks['default config'] = synthesize();
  stacks['overridden config'] = synthesize(overrides, { bundle: false });
}, 120_000);

const bothConfigs = [['default config'], ['overridden config']] as const;

/** One metric row of a dashboard graph: [namespace, name, ...dimension pairs, options], or [options] for an expression. */
type MetricRow = (string | Record<string, unknown>)[];
interface Widget {
  title: string;
  metrics: MetricRow[];
  annotations?: { horizontal: { value: number; label: string }[] };
}

/** The dashboard's graphs, its body parsed; a CloudFormation reference reads `<Ref:LogicalId>`. */
function dashboardWidgets({ template }: Synthesized): Widget[] {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  const body = parts
    .map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replace(/[{}"]/g, '')}>`))
    .join('');
  return (JSON.parse(body) as { widgets: { properties: Widget }[] }).widgets.map((widget) => widget.properties);
}

const widgetTitled = (widgets: Widget[], title: RegExp): Widget => {
  const found = widgets.filter((widget) => title.test(widget.title));
  expect(found).toHaveLength(1);
  return found[0];
};
const options = (row: MetricRow) => row[row.length - 1] as Record<string, unknown>;

describe.each(bothConfigs)('with the %s', (name) => {
  const get = () => stacks[name];

  test('the operations dashboard graphs the Swarmcast metrics, the queues, the consumer and the executions, with the budget as an annotation', () => {
    const { template, config } = get();
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of [
      'PostsDelivered',
      'PostsGone',
      'PostsFailed',
      'PartitionsFannedOut',
      'ConnectionsEnqueued',
      'Connects',
      'ConcurrentExecutions',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateAgeOfOldestMessage',
      'ExecutionsStarted',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
    ]) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    expect(body).toContain(`\\"value\\":${config.deliveryRatePerSecond},\\"label\\":\\"deliveryRatePerSecond\\"`);
    template.hasOutput('DashboardUrl', {});
  });

  test('the dashboard: 429s in percent of the answers against the alarm threshold, post latency and budget wait as percentiles, every Swarmcast metric by service only', () => {
    const { config } = get();
    const widgets = dashboardWidgets(get());

    const throttling = widgetTitled(widgets, /^429 answers/);
    expect(throttling.metrics[0]).toEqual([
      expect.objectContaining({ expression: '100 * throttled / (throttled + delivered + gone + failed)' }),
    ]);
    expect(throttling.metrics.slice(1).map((row) => [row[1], options(row).id, options(row).stat])).toEqual([
      ['PostsThrottled', 'throttled', 'Sum'],
      ['PostsDelivered', 'delivered', 'Sum'],
      ['PostsGone', 'gone', 'Sum'],
      ['PostsFailed', 'failed', 'Sum'],
    ]);
    expect(throttling.annotations?.horizontal).toEqual([
      expect.objectContaining({ value: config.throttlingAlarmPercentage }),
    ]);
    const statsOf = (title: RegExp, metricName: string) =>
      widgetTitled(widgets, title).metrics.map((row) => {
        expect(row.slice(0, 2)).toEqual(['Swarmcast', metricName]);
        return options(row).stat;
      });
    expect(statsOf(/^Post latency/, 'PostLatency')).toEqual(['p50', 'p90', 'p99', 'Maximum']);
    expect(statsOf(/^Budget wait/, 'BudgetWait')).toEqual(['p50', 'p99', 'Maximum']);

    const swarmcastRows = widgets.flatMap((widget) => widget.metrics).filter((row) => row[0] === 'Swarmcast');
    expect(new Set(swarmcastRows.map((row) => row[1]))).toEqual(
      new Set([
        'PostsDelivered',
        'PostsGone',
        'PostsFailed',
        'PostsThrottled',
        'PostLatency',
        'BudgetWait',
        'PartitionsFannedOut',
        'ConnectionsEnqueued',
        'Connects',
      ]),
    );
    for (const row of swarmcastRows) expect(row.slice(2, -1)).toEqual(['service', 'swarmcast']);
  });

  test("the dashboard: Map Run progress from partitions fanned out, the Query task (query-partitions) invocations and errors, and the account's open and backlogged Map Runs (AWS/States, no dimension)", () => {
    const { stack } = get();
    const mapRun = widgetTitled(dashboardWidgets(get()), /^Map Run progress/);
    const queryPartitions = `<Ref:${logicalIdOf(stack, 'QueryPartitions')}>`;

    expect(mapRun.metrics.map((row) => [...row.slice(0, -1), options(row).stat, options(row).yAxis ?? 'left'])).toEqual(
      [
        ['Swarmcast', 'PartitionsFannedOut', 'service', 'swarmcast', 'Sum', 'left'],
        ['AWS/Lambda', 'Invocations', 'FunctionName', queryPartitions, 'Sum', 'left'],
        ['AWS/Lambda', 'Errors', 'FunctionName', queryPartitions, 'Sum', 'left'],
        ['AWS/States', 'ApproximateOpenMapRunCount', 'Maximum', 'right'],
        ['AWS/States', 'ApproximateMapRunBacklogSize', 'Maximum', 'right'],
      ],
    );
  });

  test('alarm on sustained throttling: 429s above throttlingAlarmPercentage of the answers in throttlingAlarmPeriods consecutive periods of alarmPeriodMinutes', () => {
    const { template, config } = get();
    const [throttling, ...others] = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .map((alarm) => alarm.Properties)
      .filter((alarm) => JSON.stringify(alarm.Metrics).includes('PostsThrottled'));

    expect(others).toHaveLength(0);
    expect(throttling).toMatchObject({
      Threshold: config.throttlingAlarmPercentage,
      EvaluationPeriods: config.throttlingAlarmPeriods,
      DatapointsToAlarm: config.throttlingAlarmPeriods,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    const [expression, ...metrics] = throttling.Metrics;
    expect(expression).toMatchObject({
      Expression: '100 * throttled / (throttled + delivered + gone + failed)',
      ReturnData: true,
    });
    expect(
      metrics.map(
        (m: { Id: string; MetricStat: { Metric: Record<string, unknown>; Period: number; Stat: string } }) => [
          m.Id,
          m.MetricStat,
        ],
      ),
    ).toEqual(
      [
        ['throttled', 'PostsThrottled'],
        ['delivered', 'PostsDelivered'],
        ['gone', 'PostsGone'],
        ['failed', 'PostsFailed'],
      ].map(([id, metricName]) => [
        id,
        {
          Metric: {
            Namespace: 'Swarmcast',
            MetricName: metricName,
            Dimensions: [{ Name: 'service', Value: 'swarmcast' }],
          },
          Period: config.alarmPeriodMinutes * 60,
          Stat: 'Sum',
        },
      ]),
    );
  });

  test('alarms: any message on any DLQ (10 DLQs per alarm), any failed or timed-out broadcast, over alarmPeriodMinutes', () => {
    const { template, config } = get();
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .map((alarm) => alarm.Properties)
      .filter((alarm) => !JSON.stringify(alarm.Metrics).includes('PostsThrottled'));
    const dlqs = config.shards + 1; // every shard's and the sweep schedule's
    expect(alarms).toHaveLength(Math.ceil(dlqs / 10) + 1);
    const watched = alarms.flatMap((alarm) => alarm.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat));
    expect(
      watched.filter(
        (m: { MetricStat: { Metric: { MetricName: string } } }) =>
          m.MetricStat.Metric.MetricName === 'ApproximateNumberOfMessagesVisible',
      ),
    ).toHaveLength(dlqs);
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      for (const m of alarm.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat))
        expect(m.MetricStat.Period).toBe(config.alarmPeriodMinutes * 60);
    }
    expect(JSON.stringify(alarms)).toContain('failed + timedOut');
  });

  test('the state machine is the ASL file, with every ${…} placeholder substituted by its function ARN', () => {
    const { template, stack, definition } = get();
    const aslFile = JSON.parse(readFileSync(path.join(__dirname, '../../statemachines/broadcast.asl.json'), 'utf8'));
    expect(definition).toEqual(aslFile);

    const arnOf = (id: string) => ({ 'Fn::GetAtt': [logicalIdOf(stack, id), 'Arn'] });
    const substitutions = {
      PrepareBroadcastFunctionArn: arnOf('PrepareBroadcast'),
      QueryPartitionsFunctionArn: arnOf('QueryPartitions'),
      ReadProgressFunctionArn: arnOf('ReadProgress'),
    };
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      StateMachineName: 'Swarmcast-broadcast',
      DefinitionSubstitutions: substitutions,
      LoggingConfiguration: Match.objectLike({ Level: Match.anyValue(), Destinations: Match.anyValue() }),
    });
    const placeholders = new Set([...JSON.stringify(definition).matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]));
    expect([...placeholders].sort()).toEqual(Object.keys(substitutions).sort());
  });

  test("FanOut is a Distributed Map whose numbers come from Prepare's output", () => {
    expect(get().definition.States.FanOut).toMatchObject({
      Type: 'Map',
      Label: 'FanOut',
      ItemsPath: '$.partitions',
      ItemBatcher: { MaxItemsPerBatchPath: '$.config.partitionsPerChild' },
      MaxConcurrencyPath: '$.config.maxConcurrency',
      ToleratedFailurePercentagePath: '$.config.toleratedFailurePercentage',
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } },
    });
  });

  test('each function gets the configured numbers as environment variables', () => {
    const synthesized = get();
    const { config } = synthesized;
    const env = (id: string) => functionOf(synthesized, id).properties.Environment.Variables;
    expect(env('PrepareBroadcast')).toMatchObject({
      [ENV.partitionCount]: String(config.partitions),
      [ENV.mapMaxConcurrency]: String(config.mapMaxConcurrency),
      [ENV.partitionsPerChild]: String(config.partitionsPerChild),
      [ENV.toleratedFailurePercentage]: String(config.toleratedFailurePercentage),
      [ENV.progressPollSeconds]: String(config.progressPollSeconds),
      [ENV.deliveryTimeoutSeconds]: String(config.deliveryTimeoutSeconds),
    });
    expect(env('Connect')).toMatchObject({
      [ENV.partitionCount]: String(config.partitions),
      [ENV.connectionTtlSeconds]: String(config.connectionTtlSeconds),
    });
    expect(env('QueryPartitions')).toMatchObject({
      [ENV.connectionIdsPerMessage]: String(config.connectionIdsPerMessage),
      [ENV.queryConcurrency]: String(config.queryConcurrency),
    });
    expect(env('PostMessage')).toMatchObject({
      [ENV.postConcurrency]: String(config.postConcurrency),
      [ENV.postRetriesPerInvocation]: String(config.postRetriesPerInvocation),
      [ENV.maxDeliveryAttempts]: String(config.maxDeliveryAttempts),
      [ENV.deliveryRatePerSecond]: String(config.deliveryRatePerSecond),
      [ENV.rateBudgetTable]: { Ref: logicalIdOf(synthesized.stack, rateBudgetTable.logicalName) },
    });
  });

  test('exactly `shards` shard queues, each with its own DLQ and its own event source mapping on post-message', () => {
    const synthesized = get();
    const { config, stack, template } = synthesized;
    const postMessage = functionOf(synthesized, 'PostMessage');
    const shardIds = Array.from({ length: config.shards }, (_, k) => logicalIdOf(stack, `ShardQueues/Shard${k}`));
    const dlqIds = Array.from({ length: config.shards }, (_, k) => logicalIdOf(stack, `ShardQueues/Shard${k}Dlq`));
    // Besides the shards, one queue: the sweep schedule's dead letters.
    expect(Object.keys(template.findResources('AWS::SQS::Queue')).sort()).toEqual(
      [...shardIds, ...dlqIds, logicalIdOf(stack, 'SweepScheduleDlq')].sort(),
    );

    shardIds.forEach((shardId, k) => {
      const queue = template.toJSON().Resources[shardId].Properties;
      expect(queue.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [dlqIds[k], 'Arn'] },
        maxReceiveCount: config.maxReceiveCount,
      });
      // A message must not reappear while an invocation may still be working on it: AWS asks for
      // six times the function timeout plus the batching window the poller may hold it for.
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(
        6 * postMessage.properties.Timeout + config.consumerBatchingWindowSeconds,
      );
    });

    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map(
      (mapping) => mapping.Properties,
    );
    expect(mappings.map((mapping) => mapping.EventSourceArn['Fn::GetAtt'][0]).sort()).toEqual([...shardIds].sort());
    for (const mapping of mappings) {
      expect(mapping).toMatchObject({
        FunctionName: { Ref: postMessage.logicalId },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: config.consumerBatchSize,
        ScalingConfig: { MaximumConcurrency: config.consumerMaxConcurrency },
      });
      expect(mapping.MaximumBatchingWindowInSeconds).toBe(config.consumerBatchingWindowSeconds || undefined);
    }
  });

  test("shard k's queue is named <stack>-shard-<k>, so SHARD_QUEUE_URL_PREFIX + k is its URL, for the fan-out and the consumer", () => {
    const synthesized = get();
    const { config, stack, template } = synthesized;
    for (let k = 0; k < config.shards; k++) {
      const queue = template.toJSON().Resources[logicalIdOf(stack, `ShardQueues/Shard${k}`)].Properties;
      expect(queue.QueueName).toBe(`Swarmcast-shard-${k}`);
      expect(queue.MaximumMessageSize).toBe(MAX_SQS_MESSAGE_BYTES);
    }
    for (const id of ['QueryPartitions', 'PostMessage']) {
      const env = functionOf(synthesized, id).properties.Environment.Variables;
      expect(env[ENV.shardCount]).toBe(String(config.shards));
      expect(env[ENV.shardQueueUrlPrefix]).toEqual({
        'Fn::Join': [
          '',
          [
            'https://sqs.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/',
            { Ref: 'AWS::AccountId' },
            '/Swarmcast-shard-',
          ],
        ],
      });
    }
  });

  test('execute-api:ManageConnections is scoped to this API stage\'s @connections, never "*"', () => {
    const synthesized = get();
    const { config, stack, template } = synthesized;
    const apiId = logicalIdOf(stack, 'WebSocket/Api');
    const grants = policyStatements(template).filter(({ statement }) =>
      asArray(statement.Action).includes('execute-api:ManageConnections'),
    );
    expect(grants.length).toBeGreaterThan(0);
    const methodsByRole = new Map<string, string[]>();
    for (const { roles, statement } of grants) {
      for (const resource of asArray(statement.Resource)) {
        expect(resource).not.toBe('*');
        const text = JSON.stringify(resource);
        expect(text).toContain(`{"Ref":"${apiId}"}`);
        const method = new RegExp(`/${config.stageName}/(POST|GET|DELETE)/@connections/\\*"`).exec(text)?.[1];
        expect(method).toBeDefined();
        for (const role of roles) methodsByRole.set(role, [...(methodsByRole.get(role) ?? []), method!]);
      }
    }
    // Only the consumer talks to @connections, and only to POST: the sweep deletes expired rows without a call.
    expect(Object.fromEntries([...methodsByRole].map(([role, methods]) => [role, methods.sort()]))).toEqual({
      [functionOf(synthesized, 'PostMessage').roleId]: ['POST'],
    });
  });

  test('only the consumer reaches the budget table: it leases every @connections call there', () => {
    const synthesized = get();
    const { stack, template } = synthesized;
    const budgetTableId = logicalIdOf(stack, rateBudgetTable.logicalName);
    const grants = policyStatements(template).filter(({ statement }) =>
      JSON.stringify(statement.Resource ?? '').includes(`"${budgetTableId}"`),
    );
    expect([...new Set(grants.flatMap(({ roles }) => roles))]).toEqual([functionOf(synthesized, 'PostMessage').roleId]);
    expect(grants.flatMap(({ statement }) => asArray(statement.Action))).toEqual(
      expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:GetItem']),
    );
  });

  test('no IAM statement uses Resource "*" except the services that have no resource-level permissions', () => {
    const wildcard = policyStatements(get().template).filter(({ statement }) =>
      asArray(statement.Resource).includes('*'),
    );
    // X-Ray and CloudWatch Logs vended delivery (state machine logging) only accept "*".
    for (const { statement } of wildcard)
      expect(asArray(statement.Action).filter((action) => !/^(xray|logs):/.test(action))).toEqual([]);
  });

  test('the state machine role invokes only its three functions and runs only its own child executions', () => {
    const synthesized = get();
    const { stack, template } = synthesized;
    const roleId = logicalIdOf(stack, 'Broadcast/StateMachine/Role');
    const statements = policyStatements(template)
      .filter(({ roles }) => roles.includes(roleId))
      .map(({ statement }) => statement);
    const invoked = statements
      .filter((s) => asArray(s.Action).includes('lambda:InvokeFunction'))
      .flatMap((s) => asArray(s.Resource));
    const functionIds = new Set(invoked.map((resource) => JSON.stringify(resource).match(/"(\w+)","Arn"/)?.[1]));
    expect([...functionIds].sort()).toEqual(
      ['PrepareBroadcast', 'QueryPartitions', 'ReadProgress'].map((id) => logicalIdOf(stack, id)).sort(),
    );

    const states = statements.filter((s) => asArray(s.Action).some((action) => action.startsWith('states:')));
    expect(states.flatMap((s) => asArray(s.Action)).sort()).toEqual([
      'states:DescribeExecution',
      'states:RedriveExecution',
      'states:StartExecution',
      'states:StopExecution',
    ]);
    for (const resource of states.flatMap((s) => asArray(s.Resource))) {
      expect(JSON.stringify(resource)).toMatch(
        /:(stateMachine:Swarmcast-broadcast"|execution:Swarmcast-broadcast(\/FanOut)?:\*")/,
      );
    }
  });

  test('tables follow the schemas: on demand, TTL where the schema says; Connections keyed by partition and id, with no index', () => {
    const { stack, template } = get();
    for (const schema of allTables) {
      const table = template.toJSON().Resources[logicalIdOf(stack, schema.logicalName)].Properties;
      expect(table.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.KeySchema).toEqual([
        { AttributeName: schema.partitionKey.name, KeyType: 'HASH' },
        ...(schema.sortKey ? [{ AttributeName: schema.sortKey.name, KeyType: 'RANGE' }] : []),
      ]);
      expect(table.TimeToLiveSpecification).toEqual(
        schema.timeToLiveAttribute ? { AttributeName: schema.timeToLiveAttribute, Enabled: true } : undefined,
      );
      expect((table.GlobalSecondaryIndexes ?? []).map((index: { IndexName: string }) => index.IndexName)).toEqual(
        schema.globalSecondaryIndexes.map((index) => index.indexName),
      );
    }
    const connections = template.toJSON().Resources[logicalIdOf(stack, connectionsTable.logicalName)].Properties;
    expect(connections.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(connections.KeySchema).toEqual([
      { AttributeName: 'partition', KeyType: 'HASH' },
      { AttributeName: 'connectionId', KeyType: 'RANGE' },
    ]);
    expect(connections.GlobalSecondaryIndexes).toBeUndefined();
    expect(
      Object.values(template.toJSON().Resources).filter((r: any) => r.Type === 'AWS::DynamoDB::GlobalTable'),
    ).toHaveLength(allTables.length);
  });

  test('the sweep schedule starts the state machine with {"kind":"sweep"}', () => {
    const { config, stack, template } = get();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: config.sweepSchedule,
      State: 'ENABLED',
      Targets: [
        Match.objectLike({ Arn: { Ref: logicalIdOf(stack, 'Broadcast/StateMachine') }, Input: '{"kind":"sweep"}' }),
      ],
    });
  });

  test('the WebSocket API routes $connect, $disconnect, ping and $default on an auto-deployed stage', () => {
    const { config, template } = get();
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey,
    );
    expect(routes.sort()).toEqual(['$connect', '$default', '$disconnect', 'ping', 'subscribe', 'unsubscribe']);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
    // "pong" travels back as the route response.
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$default',
      RouteResponseSelectionExpression: '$default',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: config.stageName, AutoDeploy: true });
  });

  test('channels: subscribe and unsubscribe run one function and answer through a route response; memberships live in their own table', () => {
    const { stack, template } = get();
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    const targets = ['subscribe', 'unsubscribe'].map((key) => {
      const [[routeId, route]] = Object.entries(routes).filter(([, r]) => r.Properties.RouteKey === key);
      expect(route.Properties.RouteResponseSelectionExpression).toBe('$default');
      const responses = Object.values(template.findResources('AWS::ApiGatewayV2::RouteResponse')).map(
        (response) => response.Properties.RouteId.Ref,
      );
      expect(responses).toContain(routeId);
      const integrationId = (route.Properties.Target['Fn::Join'][1] as unknown[])
        .map((part) => (part as { Ref?: string }).Ref)
        .find(Boolean)!;
      return JSON.stringify(template.toJSON().Resources[integrationId].Properties.IntegrationUri);
    });
    expect(targets[0]).toBe(targets[1]);
    expect(targets[0]).toContain(logicalIdOf(stack, 'SubscriptionsRoute'));
    const table = template.toJSON().Resources[logicalIdOf(stack, subscriptionsTable.logicalName)].Properties;
    expect(table.KeySchema).toEqual([
      { AttributeName: 'channelPartition', KeyType: 'HASH' },
      { AttributeName: 'connectionId', KeyType: 'RANGE' },
    ]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  test('keep-alive: {"action":"ping"} is answered by API Gateway itself (MOCK), and nothing goes back (no route response)', () => {
    const { template } = get();
    const [[routeId, route]] = Object.entries(
      template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: 'ping' } }),
    );
    expect(route.Properties.RouteResponseSelectionExpression).toBeUndefined();
    const responses = Object.values(template.findResources('AWS::ApiGatewayV2::RouteResponse')).map(
      (response) => response.Properties.RouteId.Ref,
    );
    expect(responses).not.toContain(routeId);
    const integrationId = (route.Properties.Target['Fn::Join'][1] as unknown[])
      .map((part) => (part as { Ref?: string }).Ref)
      .find(Boolean)!;
    expect(template.toJSON().Resources[integrationId].Properties).toMatchObject({
      IntegrationType: 'MOCK',
      RequestTemplates: { $default: '{"statusCode":200}' },
      TemplateSelectionExpression: '\\$default',
    });
    expect(routeId).toMatch(/^WebSocketApiping/);
  });

  test('outputs: StateMachineArn, WebSocketUrl, ConnectionsEndpoint, BroadcastsTableName, without exports', () => {
    const { config, stack, template } = get();
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['StateMachineArn', 'WebSocketUrl', 'ConnectionsEndpoint', 'BroadcastsTableName']),
    );
    expect(outputs.StateMachineArn.Value).toEqual({ Ref: logicalIdOf(stack, 'Broadcast/StateMachine') });
    for (const output of Object.values(outputs)) expect(output.Export).toBeUndefined();
    const endpoint = JSON.stringify(outputs.ConnectionsEndpoint.Value);
    expect(endpoint).toMatch(
      new RegExp(
        `^\\{"Fn::Join":\\["",\\["https://",\\{"Ref":"${logicalIdOf(stack, 'WebSocket/Api')}"\\},".execute-api.".*"/${config.stageName}"\\]\\]\\}$`,
      ),
    );
  });

  test('all eight functions: Node 22 on arm64, X-Ray, their own log group with retention', () => {
    const { template } = get();
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(8);
    const logGroups = template.toJSON().Resources;
    for (const { Properties: fn } of functions) {
      expect(fn).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
      expect(logGroups[fn.LoggingConfig.LogGroup.Ref].Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });
});

test('each handler bundles into one file, #commons imports resolved', () => {
  const { template, assemblyDirectory } = stacks['default config'];
  for (const { Properties: fn } of Object.values(template.findResources('AWS::Lambda::Function'))) {
    const bundle = path.join(assemblyDirectory, `asset.${fn.Code.S3Key.replace(/\.zip$/, '')}`, 'index.js');
    expect(existsSync(bundle)).toBe(true);
    expect(readFileSync(bundle, 'utf8')).not.toMatch(/require\("#commons/);
  }
});

test('a consumer batch above 10 without a batching window fails at synth, naming the settings', () => {
  expect(() => synthesize({ consumerBatchSize: 20, consumerBatchingWindowSeconds: 0 }, { bundle: false })).toThrow(
    InvalidConfigError,
  );
  expect(() => synthesize({ consumerBatchSize: 20, consumerBatchingWindowSeconds: 0 }, { bundle: false })).toThrow(
    /consumerBatchingWindowSeconds/,
  );
});

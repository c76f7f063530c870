/**
 * Every function's environment, grants, memory, timeout and trigger in the synthesized template,
 * compared with functions/catalog.ts — the list the handlers are loaded with in test/unit/functions/catalog.cold-start.test.ts.
 * A variable or grant the stack drops, or one it adds that the handler does not need, fails here.
 */
import { broadcastsTable, connectionsTable, rateBudgetTable, subscriptionsTable } from '#commons/tables';
import { ENV } from '#commons/environment';
import { RUNTIME_ENVIRONMENT, SwarmcastFunction } from '../../infra/constructs/swarmcast-function';
import { settingEnvironment } from '#commons/settings';
import {
  FUNCTION_CATALOG,
  type CatalogEntry,
  catalogEntries,
  type FunctionName,
  type ManagementMethod,
  type TableAccess,
  type TableName,
  routesOf,
  TABLE_VARIABLES,
  variablesOf,
} from '../../functions/catalog';
import { asArray, logicalIdOf, policyStatements, synthesize, type Synthesized } from './synth';

const SCHEMAS: Record<TableName, { logicalName: string }> = {
  connections: connectionsTable,
  broadcasts: broadcastsTable,
  rateBudget: rateBudgetTable,
  subscriptions: subscriptionsTable,
};

let synthesized: Synthesized;
beforeAll(() => {
  synthesized = synthesize({ shards: 3 }, { bundle: false });
}, 120_000);

function functionsByName(): Map<FunctionName, SwarmcastFunction> {
  const functions = synthesized.stack.node
    .findAll()
    .filter((c): c is SwarmcastFunction => c instanceof SwarmcastFunction);
  return new Map(
    functions.filter((fn) => fn.handlerName in FUNCTION_CATALOG).map((fn) => [fn.handlerName as FunctionName, fn]),
  );
}

function propertiesOf(fn: SwarmcastFunction): Record<string, any> {
  const logicalId = logicalIdOf(synthesized.stack, fn.node.id);
  return synthesized.template.toJSON().Resources[logicalId].Properties;
}

/** A table grant read back from the actions of the role's statements on that table. */
function tableAccessIn(actions: Set<string>): TableAccess | undefined {
  const reads = actions.has('dynamodb:Query') && actions.has('dynamodb:GetItem');
  const writes =
    actions.has('dynamodb:PutItem') && actions.has('dynamodb:UpdateItem') && actions.has('dynamodb:DeleteItem');
  return reads && writes ? 'readWrite' : reads ? 'read' : writes ? 'write' : undefined;
}

function grantsOf(fn: SwarmcastFunction) {
  const roleId = propertiesOf(fn).Role['Fn::GetAtt'][0] as string;
  const statements = policyStatements(synthesized.template)
    .filter(({ roles }) => roles.includes(roleId))
    .map(({ statement }) => statement);
  const resourceIds = (resource: unknown) => asArray(resource).map((r) => JSON.stringify(r));

  const tables: Partial<Record<TableName, TableAccess>> = {};
  for (const table of Object.keys(SCHEMAS) as TableName[]) {
    const arn = JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(synthesized.stack, SCHEMAS[table].logicalName), 'Arn'] });
    const actions = new Set(
      statements.filter((s) => resourceIds(s.Resource).includes(arn)).flatMap((s) => asArray(s.Action)),
    );
    const access = tableAccessIn(actions);
    if (access) tables[table] = access;
  }
  const sendsTo = statements
    .filter((s) => asArray(s.Action).includes('sqs:SendMessage'))
    .flatMap((s) => resourceIds(s.Resource));
  const methods = statements
    .filter((s) => asArray(s.Action).includes('execute-api:ManageConnections'))
    .flatMap((s) => asArray(s.Resource))
    .map((arn) => /\/(POST|GET|DELETE)\/@connections\/\*/.exec(JSON.stringify(arn))?.[1] as ManagementMethod);
  return { tables, sendsTo, methods };
}

describe.each(Object.keys(FUNCTION_CATALOG) as FunctionName[])('%s, as functions/catalog.ts says', (name) => {
  const needs: CatalogEntry = FUNCTION_CATALOG[name];

  test('its environment is exactly the variables its handler reads (and the runtime ones every function gets)', () => {
    const fn = functionsByName().get(name)!;
    const variables = propertiesOf(fn).Environment?.Variables ?? {};

    expect(Object.keys(variables).sort()).toEqual([...variablesOf(needs), ...Object.keys(RUNTIME_ENVIRONMENT)].sort());
    for (const table of Object.keys(needs.tables) as TableName[]) {
      expect(variables[TABLE_VARIABLES[table]]).toEqual({
        Ref: logicalIdOf(synthesized.stack, SCHEMAS[table].logicalName),
      });
    }
    for (const [variable, value] of Object.entries(settingEnvironment(synthesized.config, needs.settings)))
      expect(variables[variable]).toBe(value);
    if (needs.connectionsApi.length > 0)
      expect(JSON.stringify(variables[ENV.connectionsEndpoint])).toContain(
        logicalIdOf(synthesized.stack, 'WebSocket/Api'),
      );
  });

  test('its role grants exactly the table access, queue sends and @connections methods it needs', () => {
    const grants = grantsOf(functionsByName().get(name)!);
    const shardQueues = Array.from({ length: synthesized.config.shards }, (_, k) =>
      JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(synthesized.stack, `ShardQueues/Shard${k}`), 'Arn'] }),
    );

    expect(grants.tables).toEqual(needs.tables);
    expect(grants.sendsTo.sort()).toEqual(needs.sendsToShardQueues ? shardQueues.sort() : []);
    expect(grants.methods.sort()).toEqual([...needs.connectionsApi].sort());
  });
});

test('the stack builds exactly the functions the catalog lists', () => {
  expect([...functionsByName().keys()].sort()).toEqual(Object.keys(FUNCTION_CATALOG).sort());
});

describe.each(catalogEntries())('%s is deployed with its catalog memory, timeout and trigger', (name, entry) => {
  test('memory and timeout', () => {
    const properties = propertiesOf(functionsByName().get(name)!);
    expect(properties.MemorySize).toBe(entry.memoryMb);
    expect(properties.Timeout).toBe(entry.timeoutSeconds);
  });

  test('its trigger invokes it', () => {
    const resources = synthesized.template.toJSON().Resources as Record<string, { Type: string; Properties: any }>;
    const functionId = logicalIdOf(synthesized.stack, functionsByName().get(name)!.node.id);
    const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
    const { trigger } = entry;
    if (trigger.kind === 'route') {
      for (const key of routesOf(trigger)) {
        const [, route] = ofType('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === key)!;
        const integrationId = JSON.stringify(route.Properties.Target).match(/"Ref":"(\w+)"/)![1];
        expect(JSON.stringify(resources[integrationId].Properties.IntegrationUri)).toContain(`"${functionId}"`);
      }
    } else if (trigger.kind === 'shardQueueConsumer') {
      const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(
        ([, m]) => m.Properties.FunctionName.Ref === functionId,
      );
      expect(mappings).toHaveLength(synthesized.config.shards);
    } else {
      const [[, stateMachine]] = ofType('AWS::StepFunctions::StateMachine');
      expect(stateMachine.Properties.DefinitionSubstitutions[trigger.arnPlaceholder]).toEqual({
        'Fn::GetAtt': [functionId, 'Arn'],
      });
    }
  });
});

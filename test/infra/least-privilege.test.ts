/**
 * Each function's DynamoDB grants in the synthesized template against a list written here by
 * hand from the calls its code makes, not from functions/catalog.ts: a catalog entry that asks
 * for more than the handler needs (the template is built from it) fails here.
 */
import { broadcastsTable, connectionsTable, rateBudgetTable, subscriptionsTable } from '#commons/tables';
import { SwarmcastFunction } from '../../infra/constructs/swarmcast-function';
import { asArray, functionOf, logicalIdOf, policyStatements, synthesize, type Synthesized } from './synth';

const TABLES = {
  connections: connectionsTable,
  broadcasts: broadcastsTable,
  rateBudget: rateBudgetTable,
  subscriptions: subscriptionsTable,
};
type Table = keyof typeof TABLES;

/** The actions of CDK's grantReadData and grantWriteData, written out. */
const READ = [
  'BatchGetItem',
  'ConditionCheckItem',
  'DescribeTable',
  'GetItem',
  'GetRecords',
  'GetShardIterator',
  'Query',
  'Scan',
];
const WRITE = ['BatchWriteItem', 'DeleteItem', 'DescribeTable', 'PutItem', 'UpdateItem'];
const READ_WRITE = [...new Set([...READ, ...WRITE])];

/** Per function (construct id), per table: the grant its calls need, and the calls that need it. */
const EXPECTED: Record<string, Partial<Record<Table, string[]>>> = {
  // PutItem of the row, keyed by the id's partition; PutItem of each ?channels= membership.
  Connect: { connections: WRITE, subscriptions: WRITE },
  // DeleteItem of the row, its key recomputed from the id; DeleteItem of the memberships it named.
  Disconnect: { connections: WRITE, subscriptions: WRITE },
  // subscribe/unsubscribe: GetItem (the authorizer's patterns) and UpdateItem of the row's set; PutItem or DeleteItem of the membership.
  SubscriptionsRoute: { connections: READ_WRITE, subscriptions: WRITE },
  DefaultRoute: {},
  // The deployer's authorizer (examples/connect-authorizer.ts here): it gets a secret, no table.
  ConnectAuthorizer: {},
  // PutItem of message and plan; a replay's GetItem and UpdateItem of the plan.
  PrepareBroadcast: { broadcasts: READ_WRITE },
  // Query of a partition (a sweep's too: the consumer deletes its expired rows); enqueued counts (GetItem,
  // UpdateItem), failed sockets (Query, PutItem, DeleteItem), abandoned runs (PutItem).
  // A channel broadcast's Query of a channel partition.
  QueryPartitions: { connections: READ, broadcasts: READ_WRITE, subscriptions: READ },
  // GetItem of the plan, Query of the count items, UpdateItem of the plan's delivery deadline.
  ReadProgress: { broadcasts: READ_WRITE },
  // DeleteItem of gone rows (410s, a sweep's expired rows); the broadcast's reads and count writes; the budget item's
  // UpdateItem and, when refused, GetItem.
  // DeleteItem of a gone socket's memberships.
  PostMessage: { connections: WRITE, broadcasts: READ_WRITE, rateBudget: READ_WRITE, subscriptions: WRITE },
};

let synthesized: Synthesized;
beforeAll(() => {
  synthesized = synthesize({ shards: 2, connectAuthorizer: 'examples/connect-authorizer.ts' }, { bundle: false });
}, 120_000);

/** The DynamoDB actions a role may take, per table (its indexes count as the table); '*' for any resource that is none of them. */
function dynamoDbGrants(constructId: string): Record<string, string[]> {
  const { roleId } = functionOf(synthesized, constructId);
  const arns = Object.fromEntries(
    Object.entries(TABLES).map(([table, schema]) => [
      table,
      JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(synthesized.stack, schema.logicalName), 'Arn'] }),
    ]),
  );
  const grants: Record<string, Set<string>> = {};
  for (const { roles, statement } of policyStatements(synthesized.template)) {
    if (!roles.includes(roleId) || statement.Effect !== 'Allow') continue;
    const actions = asArray(statement.Action)
      .filter((action) => action.startsWith('dynamodb:'))
      .map((action) => action.slice('dynamodb:'.length));
    if (actions.length === 0) continue;
    for (const resource of asArray(statement.Resource).map((r) => JSON.stringify(r))) {
      const table =
        Object.keys(arns).find((name) => resource === arns[name] || resource.includes(`${arns[name]},"/index/*"`)) ??
        '*';
      for (const action of actions) (grants[table] ??= new Set()).add(action);
    }
  }
  return Object.fromEntries(Object.entries(grants).map(([table, actions]) => [table, [...actions].sort()]));
}

test.each(Object.keys(EXPECTED))(
  '%s may take exactly the DynamoDB actions its calls need, on exactly its tables',
  (constructId) => {
    const expected = Object.fromEntries(
      Object.entries(EXPECTED[constructId]).map(([table, actions]) => [table, [...actions].sort()]),
    );
    expect(dynamoDbGrants(constructId)).toEqual(expected);
  },
);

test('every function of the stack is in the list above', () => {
  const functions = synthesized.stack.node.findAll().filter((construct) => construct instanceof SwarmcastFunction);
  expect(functions.map((fn) => fn.node.id).sort()).toEqual(Object.keys(EXPECTED).sort());
});

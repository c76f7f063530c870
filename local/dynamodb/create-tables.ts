/** Creates the local tables from the schemas the CDK stack deploys (functions/commons/tables.ts). */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyAttribute, TableSchema } from '#commons/tables';

export class TableNotActiveError extends Error {
  override name = 'TableNotActiveError';
}

/** A `--data` directory written by a version whose table had other keys (e.g. Connections before it was keyed by partition). */
export class TableKeysChangedError extends Error {
  override name = 'TableKeysChangedError';
}

/** Local table name of a schema, e.g. prefix "swarmcast" + "Connections" = "swarmcast-Connections". */
export function localTableName(tablePrefix: string, schema: TableSchema): string {
  return `${tablePrefix}-${schema.logicalName}`;
}

/**
 * Creates each table the way the CDK stack does (on-demand, GSIs projecting INCLUDE), unless
 * it exists already: a `--data DIR` restart finds its tables and rows in place.
 */
export async function createTables(
  client: DynamoDBClient,
  schemas: readonly TableSchema[],
  tablePrefix: string,
): Promise<void> {
  await Promise.all(
    schemas.map(async (schema) => {
      const tableName = localTableName(tablePrefix, schema);
      const existing = await existingKeys(client, tableName);
      if (existing !== undefined && existing !== keysText(keySchema(schema.partitionKey, schema.sortKey))) {
        throw new TableKeysChangedError(
          `table ${tableName} in the data directory is keyed ${existing}, but this version keys it ${keysText(keySchema(schema.partitionKey, schema.sortKey))}: ` +
            'start with another --data directory (or delete this one); clients reconnect into the new table, as on AWS after the upgrade (docs/upgrading.md)',
        );
      }
      if (existing === undefined) {
        try {
          await client.send(new CreateTableCommand(createTableInput(schema, tableName)));
        } catch (error) {
          // Another starter won the race: the table is there, which is all we need.
          if (!(error instanceof ResourceInUseException)) throw error;
        }
      }
      await waitUntilActive(client, tableName);
    }),
  );
}

export function createTableInput(schema: TableSchema, tableName: string): CreateTableCommandInput {
  const keys = [
    schema.partitionKey,
    ...(schema.sortKey ? [schema.sortKey] : []),
    ...schema.globalSecondaryIndexes.flatMap((index) =>
      index.sortKey ? [index.partitionKey, index.sortKey] : [index.partitionKey],
    ),
  ];
  // Each key attribute is defined once, even when several indexes use it.
  const attributeDefinitions = [...new Map(keys.map((key) => [key.name, key])).values()].map(
    (key): AttributeDefinition => ({ AttributeName: key.name, AttributeType: key.type }),
  );
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributeDefinitions,
    KeySchema: keySchema(schema.partitionKey, schema.sortKey),
    GlobalSecondaryIndexes: schema.globalSecondaryIndexes.length
      ? schema.globalSecondaryIndexes.map((index) => ({
          IndexName: index.indexName,
          KeySchema: keySchema(index.partitionKey, index.sortKey),
          // INCLUDE needs at least one attribute; an index without extras projects its keys.
          Projection: index.nonKeyAttributes.length
            ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] }
            : { ProjectionType: 'KEYS_ONLY' },
        }))
      : undefined,
  };
}

function keySchema(partitionKey: KeyAttribute, sortKey?: KeyAttribute): KeySchemaElement[] {
  const schema: KeySchemaElement[] = [{ AttributeName: partitionKey.name, KeyType: 'HASH' }];
  if (sortKey) schema.push({ AttributeName: sortKey.name, KeyType: 'RANGE' });
  return schema;
}

/** The table's key schema as text ("partition HASH, connectionId RANGE"), or undefined if there is no such table. */
async function existingKeys(client: DynamoDBClient, tableName: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return keysText(Table?.KeySchema ?? []);
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

function keysText(keys: readonly KeySchemaElement[]): string {
  return keys.map((key) => `${key.AttributeName} ${key.KeyType}`).join(', ');
}

/** The SDK waiter sleeps 20 s between checks; dynalite (createTableMs 0) is ACTIVE within a tick. */
async function waitUntilActive(client: DynamoDBClient, tableName: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) throw new TableNotActiveError(`table ${tableName} is not ACTIVE after ${timeoutMs} ms`);
    await sleep(20);
  }
}

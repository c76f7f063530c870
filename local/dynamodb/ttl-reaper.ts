import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableSchema } from '#commons/tables';

/**
 * dynalite has no TTL: this reaper does locally what DynamoDB's TTL process does, deleting
 * rows whose TTL attribute (epoch seconds) is in the past.
 *
 * Each row is deleted with a condition "still expired" and ALL_OLD, like the real TTL process
 * (which skips rows whose TTL moved on, and reports what it deleted on the stream). Unlike a
 * BatchWriteItem, this tells us exactly which rows this reaper removed: a `$disconnect` that
 * deletes the same row at the same moment does not make a partition counter drop twice.
 */
export interface ReapedTable {
  schema: TableSchema;
  tableName: string;
}

/** Called with the rows the reaper deleted (the stream's OLD_IMAGE, in effect). */
export type OnExpired = (logicalName: string, items: Record<string, unknown>[]) => Promise<void>;

export interface TtlReaper {
  /** One pass over every table now; resolves to the number of rows deleted per logical table name. */
  reapNow(): Promise<Record<string, number>>;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

/** Conditional deletes in flight per table: enough to keep dynalite busy, few enough to leave it room. */
const DELETE_CONCURRENCY = 16;

export function startTtlReaper(options: {
  client: DynamoDBDocumentClient;
  tables: ReapedTable[];
  intervalMs: number;
  onExpired: OnExpired;
}): TtlReaper {
  const { client, intervalMs, onExpired } = options;
  const tables = options.tables.filter((table) => table.schema.timeToLiveAttribute !== undefined);
  let running: Promise<Record<string, number>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const reapNow = (): Promise<Record<string, number>> => {
    // Passes never overlap: a caller asking during a pass gets that pass.
    running ??= reapAll().finally(() => (running = undefined));
    return running;
  };

  async function reapAll(): Promise<Record<string, number>> {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const counts: Record<string, number> = {};
    for (const table of tables) {
      counts[table.schema.logicalName] = await reapTable(client, table, nowSeconds, onExpired);
    }
    return counts;
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      reapNow()
        .catch((error: unknown) => console.error('local TTL reaper pass failed; retrying next interval', error))
        .finally(schedule);
    }, intervalMs);
  };
  schedule();

  return {
    reapNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

type Item = Record<string, unknown>;

/** "The TTL attribute is in the past": the Scan filter, and the condition of each delete. */
interface ExpiredCondition {
  expression: string;
  names: Record<string, string>;
  values: Record<string, number>;
}

async function reapTable(client: DynamoDBDocumentClient, { schema, tableName }: ReapedTable, nowSeconds: number, onExpired: OnExpired) {
  const expired: ExpiredCondition = {
    expression: '#ttl < :now',
    names: { '#ttl': schema.timeToLiveAttribute! },
    values: { ':now': nowSeconds },
  };
  const filter = { FilterExpression: expired.expression, ExpressionAttributeNames: expired.names, ExpressionAttributeValues: expired.values };
  let deleted = 0;
  let startKey: Item | undefined;
  // Scan pages are ≤ 1 MB: follow LastEvaluatedKey to the end, or rows are silently skipped.
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey, ...filter }));
    startKey = page.LastEvaluatedKey;
    const keyNames = [schema.partitionKey.name, ...(schema.sortKey ? [schema.sortKey.name] : [])];
    const keys = (page.Items ?? []).map((item) => Object.fromEntries(keyNames.map((name) => [name, item[name]])));
    const oldItems = await mapWithConcurrency(keys, DELETE_CONCURRENCY, (key) => deleteIfExpired(client, tableName, key, expired));
    const reaped = oldItems.filter((item) => item !== undefined);
    if (reaped.length > 0) await onExpired(schema.logicalName, reaped);
    deleted += reaped.length;
  } while (startKey);
  return deleted;
}

/** The old row if this call deleted it; undefined if it was gone or no longer expired. */
async function deleteIfExpired(client: DynamoDBDocumentClient, tableName: string, key: Item, expired: ExpiredCondition): Promise<Item | undefined> {
  try {
    const { Attributes } = await client.send(
      new DeleteCommand({
        TableName: tableName,
        Key: key,
        ConditionExpression: expired.expression,
        ExpressionAttributeNames: expired.names,
        ExpressionAttributeValues: expired.values,
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
}

async function mapWithConcurrency<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

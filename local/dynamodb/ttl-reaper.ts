/**
 * dynalite has no TTL: this reaper does locally what DynamoDB's TTL process does and nothing
 * more: deletes rows whose TTL attribute (epoch seconds) is in the past, some time after they
 * expired (each interval), each with the condition "still expired" (the real process skips rows
 * whose TTL moved on).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { forEachWithConcurrency } from '#commons/helpers/concurrency';
import type { TableSchema } from '#commons/tables';

export interface ReapedTable {
  schema: TableSchema;
  tableName: string;
}

export interface TtlReaper {
  /** One pass over every table now; resolves to the number of rows deleted per logical table name. */
  reapNow(): Promise<Record<string, number>>;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

/** Conditional deletes in flight per table: enough to keep dynalite busy, few enough to leave it room. */
const DELETE_CONCURRENCY = 16;
/**
 * Rows one Scan request reads. dynalite answers one request at a time: with 1 MB pages, the pass
 * over 100,000 rows stopped every post for about half a second (bench:quota at 100,000 rows: no
 * post for 0.25–0.5 s at 42–43 s, in all four runs; the budget's lease writes waited behind the
 * Scan), while DynamoDB's own TTL process costs a table nothing. Small pages let the handlers'
 * requests in between (two runs since: no such gap).
 */
const SCAN_PAGE_ROWS = 500;

export function startTtlReaper(options: {
  client: DynamoDBDocumentClient;
  tables: ReapedTable[];
  intervalMs: number;
}): TtlReaper {
  const { client, intervalMs } = options;
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
      counts[table.schema.logicalName] = await reapTable(client, table, nowSeconds);
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

async function reapTable(client: DynamoDBDocumentClient, { schema, tableName }: ReapedTable, nowSeconds: number) {
  const expired: ExpiredCondition = {
    expression: '#ttl < :now',
    names: { '#ttl': schema.timeToLiveAttribute! },
    values: { ':now': nowSeconds },
  };
  const filter = {
    FilterExpression: expired.expression,
    ExpressionAttributeNames: expired.names,
    ExpressionAttributeValues: expired.values,
  };
  let deleted = 0;
  let startKey: Item | undefined;
  // Scan pages are ≤ 1 MB: follow LastEvaluatedKey to the end, or rows are silently skipped.
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey, Limit: SCAN_PAGE_ROWS, ...filter }),
    );
    startKey = page.LastEvaluatedKey;
    const keyNames = [schema.partitionKey.name, ...(schema.sortKey ? [schema.sortKey.name] : [])];
    const keys = (page.Items ?? []).map((item) => Object.fromEntries(keyNames.map((name) => [name, item[name]])));
    await forEachWithConcurrency(keys, DELETE_CONCURRENCY, async (key) => {
      if (await deleteIfExpired(client, tableName, key, expired)) deleted++;
    });
  } while (startKey);
  return deleted;
}

/** Whether this call deleted the row (not if it was gone or no longer expired). */
async function deleteIfExpired(
  client: DynamoDBDocumentClient,
  tableName: string,
  key: Item,
  expired: ExpiredCondition,
): Promise<boolean> {
  try {
    await client.send(
      new DeleteCommand({
        TableName: tableName,
        Key: key,
        ConditionExpression: expired.expression,
        ExpressionAttributeNames: expired.names,
        ExpressionAttributeValues: expired.values,
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

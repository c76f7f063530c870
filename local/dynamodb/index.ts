import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { allTables, connectionsTable } from '#commons/tables';
import { forkServer } from './child-server';
import { createTables, localTableName } from './create-tables';
import { decrementPartitionCounters } from './partition-counters';
import { startTtlReaper, type TtlReaper } from './ttl-reaper';

/**
 * Local DynamoDB: dynalite as a child process (see child-server.ts for why), swarmcast's
 * tables created from functions/commons/tables.ts, and a TTL reaper.
 */
export interface LocalDynamoDbOptions {
  /** LevelDB directory: tables and rows survive restarts. In memory when absent. */
  dataDir?: string;
  /** Local table name = `${tablePrefix}-${logicalName}`, e.g. "swarmcast" gives "swarmcast-Connections". */
  tablePrefix: string;
  /** Milliseconds between reaper passes; default 60 s. Tests call `reaper.reapNow()` instead of waiting. */
  reaperIntervalMs?: number;
  region?: string;
}

export interface LocalDynamoDb {
  /** http://127.0.0.1:<port>, for AWS_ENDPOINT_URL_DYNAMODB. */
  endpoint: string;
  tableNames: { Connections: string; Partitions: string; Broadcasts: string };
  reaper: Pick<TtlReaper, 'reapNow'>;
  stop(): Promise<void>;
}

export async function startDynamoDb({ dataDir, tablePrefix, reaperIntervalMs = 60_000, region = 'us-east-1' }: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const server = await forkServer(path.join(__dirname, 'dynalite-process.ts'), { dataDir });
  const client = new DynamoDBClient({ endpoint: server.endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const documentClient = DynamoDBDocumentClient.from(client);
  let reaper: TtlReaper | undefined;
  try {
    await createTables(client, allTables, tablePrefix);
    const tableNames = {
      Connections: localTableName(tablePrefix, connectionsTable),
      Partitions: `${tablePrefix}-Partitions`,
      Broadcasts: `${tablePrefix}-Broadcasts`,
    };
    reaper = startTtlReaper({
      client: documentClient,
      tables: allTables.map((schema) => ({ schema, tableName: localTableName(tablePrefix, schema) })),
      intervalMs: reaperIntervalMs,
      onExpired: async (logicalName, items) => {
        if (logicalName === connectionsTable.logicalName) await decrementPartitionCounters(documentClient, tableNames.Partitions, items);
      },
    });
    const startedReaper = reaper;
    return {
      endpoint: server.endpoint,
      tableNames,
      reaper: { reapNow: () => startedReaper.reapNow() },
      async stop() {
        await startedReaper.stop();
        client.destroy();
        await server.stop();
      },
    };
  } catch (error) {
    await reaper?.stop();
    client.destroy();
    await server.stop();
    throw error;
  }
}

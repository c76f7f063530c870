/**
 * Local DynamoDB: dynalite as a child process (see child-server.ts for why), swarmcast's
 * tables created from functions/commons/tables.ts, and a TTL reaper (ttl-reaper.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { allTables, broadcastsTable, connectionsTable, partitionsTable, rateBudgetTable } from '#commons/tables';
import { forkServer } from '../child-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local-account';
import { createTables, localTableName } from './create-tables';
import { startTtlReaper } from './ttl-reaper';

export interface LocalDynamoDbOptions {
  /** LevelDB directory: tables and rows survive restarts. In memory when absent. */
  dataDir?: string;
  /** Local table name = `${tablePrefix}-${logicalName}`, e.g. "swarmcast" gives "swarmcast-Connections". */
  tablePrefix: string;
  /** Milliseconds between reaper passes; default 60 s. */
  reaperIntervalMs?: number;
  region?: string;
}

export interface LocalDynamoDb {
  /** http://127.0.0.1:<port>, for AWS_ENDPOINT_URL_DYNAMODB. */
  endpoint: string;
  tableNames: { Connections: string; Partitions: string; Broadcasts: string; RateBudget: string };
  /** One reaper pass now (tests and the CLI need not wait for the interval); rows deleted per logical table. */
  reapExpired(): Promise<Record<string, number>>;
  stop(): Promise<void>;
  /** Settles, saying how, if dynalite ends without being stopped. */
  died: Promise<string>;
  /** The process id of dynalite's child process. */
  pid: number;
}

export async function startDynamoDb({ dataDir, tablePrefix, reaperIntervalMs = 60_000, region = LOCAL_REGION }: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const server = await forkServer(path.join(__dirname, 'dynalite-process.ts'), { dataDir });
  const client = new DynamoDBClient({ endpoint: server.endpoint, region, credentials: LOCAL_CREDENTIALS });
  try {
    await createTables(client, allTables, tablePrefix);
  } catch (error) {
    client.destroy();
    await server.stop();
    throw error;
  }

  const tableNames = {
    Connections: localTableName(tablePrefix, connectionsTable),
    Partitions: localTableName(tablePrefix, partitionsTable),
    Broadcasts: localTableName(tablePrefix, broadcastsTable),
    RateBudget: localTableName(tablePrefix, rateBudgetTable),
  };
  const documentClient = DynamoDBDocumentClient.from(client);
  const reaper = startTtlReaper({
    client: documentClient,
    tables: allTables.map((schema) => ({ schema, tableName: localTableName(tablePrefix, schema) })),
    intervalMs: reaperIntervalMs,
  });

  return {
    endpoint: server.endpoint,
    tableNames,
    reapExpired: () => reaper.reapNow(),
    died: server.died,
      pid: server.pid,
    async stop() {
      await reaper.stop();
      client.destroy();
      await server.stop();
    },
  };
}

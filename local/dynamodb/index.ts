/**
 * Local DynamoDB: dynalite as a child process (see child-server.ts for why), swarmcast's
 * tables created from functions/commons/tables.ts, and a TTL reaper (ttl-reaper.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { allTables, broadcastsTable, connectionsTable, rateBudgetTable, subscriptionsTable } from '#commons/tables';
import { type ChildServer, forkServer } from '../child-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local-account';
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
  tableNames: { Connections: string; Broadcasts: string; RateBudget: string; Subscriptions: string };
  /** One reaper pass now (tests and the CLI need not wait for the interval); rows deleted per logical table. */
  reapExpired(): Promise<Record<string, number>>;
  stop(): Promise<void>;
  /** Settles, saying how, if dynalite ends without being stopped and cannot be restarted. */
  died: Promise<string>;
  /** The process id of dynalite's child process (a new one after a restart). */
  readonly pid: number;
}

const DYNALITE_ENTRY = path.join(__dirname, 'dynalite-process.ts');
/** Restarts of a dynalite with its tables on disk before the stack gives up on it: one that keeps dying has a reason to. */
const MAX_RESTARTS = 3;

export async function startDynamoDb({
  dataDir,
  tablePrefix,
  reaperIntervalMs = 60_000,
  region = LOCAL_REGION,
}: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const server = await superviseDynalite(dataDir);
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
    Broadcasts: localTableName(tablePrefix, broadcastsTable),
    RateBudget: localTableName(tablePrefix, rateBudgetTable),
    Subscriptions: localTableName(tablePrefix, subscriptionsTable),
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
    get pid() {
      return server.pid;
    },
    async stop() {
      await reaper.stop();
      client.destroy();
      await server.stop();
    },
  };
}

/**
 * dynalite as a child server. With its tables on disk, a dynalite that ends unasked is started
 * again on the same port and directory: the handlers keep their endpoint, and DynamoDB looks
 * to them like a short outage, which they retry. In memory, its tables died with it: `died` settles.
 */
async function superviseDynalite(dataDir: string | undefined): Promise<ChildServer> {
  let current = await forkServer(DYNALITE_ENTRY, { dataDir });
  const port = Number(new URL(current.endpoint).port);
  let restarts = 0;
  let stopping = false;
  const died = new Promise<string>((resolve) => {
    const watch = (server: ChildServer) =>
      void server.died.then(async (how) => {
        if (stopping) return;
        if (!dataDir) return resolve(how);
        if (restarts === MAX_RESTARTS) return resolve(`${how} after ${MAX_RESTARTS} restarts`);
        restarts++;
        try {
          current = await forkServer(DYNALITE_ENTRY, { dataDir, port });
        } catch (error) {
          return resolve(`${how} and did not restart: ${(error as Error).message}`);
        }
        if (stopping) return void current.stop();
        console.error(
          `swarmcast local: DynamoDB (dynalite) ${how}; restarted on the same port with the tables in ${dataDir} (restart ${restarts} of at most ${MAX_RESTARTS})`,
        );
        watch(current);
      });
    watch(current);
  });
  return {
    endpoint: current.endpoint,
    died,
    get pid() {
      return current.pid;
    },
    stop: () => {
      stopping = true;
      return current.stop();
    },
  };
}

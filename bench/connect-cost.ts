/**
 * What one $connect and one $disconnect cost the local DynamoDB: dynalite's PutItem and DeleteItem
 * rates on this machine, and registerConnection's / unregisterConnection's own rates (their
 * DynamoDB requests per call counted by a middleware, 1 each), with the same concurrency the
 * gateway gives $connect. In-memory dynalite.
 *
 *   npx tsx bench/connect-cost.ts [operations=3000] [concurrency=64] [rounds=3]
 */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDb } from '../local/dynamodb';
import { median } from './stats';

const operations = Number(process.argv[2] ?? 3_000);
const concurrency = Number(process.argv[3] ?? 64);
const rounds = Number(process.argv[4] ?? 3);
const PARTITIONS = 2_500;

async function main(): Promise<void> {
  const db = await startDynamoDb({ tablePrefix: 'bench' });
  process.env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  // Imported after the endpoint is set: the shared client reads it when created.
  const { dynamoDb } = await import('#commons/clients/dynamodb');
  const { registerConnection, unregisterConnection } = await import('#commons/connections');
  let requests = 0;
  dynamoDb.middlewareStack.add(
    (next) => async (args) => {
      requests++;
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );

  const tables = { connections: db.tableNames.Connections };
  let sequence = 0;
  let removed = 0;
  const kinds: Record<string, () => Promise<unknown>> = {
    PutItem: () =>
      dynamoDb.send(
        new PutCommand({
          TableName: tables.connections,
          Item: {
            partition: sequence % PARTITIONS,
            connectionId: `put-${sequence++}`,
            connectedAt: Date.now(),
            expiresAt: 2e9,
          },
        }),
      ),
    DeleteItem: () =>
      dynamoDb.send(
        new DeleteCommand({
          TableName: tables.connections,
          Key: { partition: removed % PARTITIONS, connectionId: `put-${removed++}` },
        }),
      ),
    registerConnection: () =>
      registerConnection(tables, { connectionId: `conn-${sequence++}`, partitionCount: PARTITIONS, ttlSeconds: 7200 }),
    unregisterConnection: () => unregisterConnection(tables, `conn-${removed++}`, PARTITIONS),
  };
  for (const [kind, run] of Object.entries(kinds)) {
    const rates: number[] = [];
    let perCall = 0;
    for (let round = 0; round < rounds; round++) {
      requests = 0;
      let next = 0;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < operations) await run();
        }),
      );
      rates.push((operations * 1000) / (performance.now() - start));
      perCall = requests / operations;
    }
    console.log(
      `${kind.padEnd(20)} ${Math.round(median(rates)).toLocaleString('en-US').padStart(7)} calls/s  (median of ${rounds} × ${operations}, ${concurrency} in flight; ${perCall.toFixed(2)} DynamoDB requests per call)`,
    );
  }
  await db.stop();
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});

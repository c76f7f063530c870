/**
 * The budget's lease item in DynamoDB (dynalite, the real protocol and condition evaluation):
 * the same contract the in-memory store of the unit simulation keeps, and consumers leasing in
 * real time never above the rate.
 */
import { startDynamoDb, type LocalDynamoDb } from '../../local/dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/local-account';
import { leaseStoreContract } from '../unit/fixtures/lease-store-contract';

let dynamoDb: LocalDynamoDb;
let budgetModule: typeof import('#commons/rate-budget');

beforeAll(async () => {
  dynamoDb = await startDynamoDb({ tablePrefix: 'budget-itest', region: LOCAL_REGION });
  // The handlers' DynamoDB client reads its endpoint from the environment, as on the local stack.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamoDb.endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  });
  budgetModule = await import('#commons/rate-budget');
});

afterAll(async () => {
  await dynamoDb?.stop();
});

describe('DynamoDbLeaseStore on DynamoDB keeps the lease-store contract', () => {
  it.each(leaseStoreContract)('%s', async (name, contract) => {
    await contract(new budgetModule.DynamoDbLeaseStore(dynamoDb.tableNames.RateBudget, `contract-${name}`));
  });
});

test('four consumers leasing from DynamoDB in real time never exceed the rate by more than 10 % in any second', async () => {
  // prepare: the run lasts until three seconds' worth of calls were made, however slow the machine
  const rate = 1_000;
  const target = 3 * rate;
  const store = new budgetModule.DynamoDbLeaseStore(dynamoDb.tableNames.RateBudget, 'real-time');
  const deadline = Date.now() + 60_000;
  const calls: number[] = [];

  // act: each consumer keeps 20 calls of 5 ms in flight
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      const budget = new budgetModule.RateBudget({ store, party: 'broadcast', ratePerSecond: rate, latestStartMs: deadline });
      budget.expect(Number.POSITIVE_INFINITY);
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (calls.length < target && (await budget.take())) {
            calls.push(Date.now());
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }),
      );
    }),
  );

  // assess: no one-second window holds more than the rate allows (the lower bound is the unit simulation's)
  calls.sort((a, b) => a - b);
  let busiest = 0;
  for (let lo = 0, hi = 0; lo < calls.length; lo++) {
    while (hi < calls.length && calls[hi] < calls[lo] + 1_000) hi++;
    busiest = Math.max(busiest, hi - lo);
  }
  expect(calls.length).toBeGreaterThanOrEqual(target);
  expect(busiest).toBeLessThanOrEqual(1.1 * rate);
}, 90_000);

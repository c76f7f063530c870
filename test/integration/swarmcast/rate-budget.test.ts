/**
 * The budget's lease item in DynamoDB (dynalite, the real protocol and condition evaluation):
 * the same contract the in-memory store of the unit simulation keeps, and consumers leasing at
 * once get disjoint stretches of its clock (what keeps every second within the rate; the unit
 * simulation checks the seconds themselves, in virtual time).
 */
import { startDynamoDb, type LocalDynamoDb } from '../../../local/dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local-account';
import { leaseStoreContract } from '../../unit/fixtures/lease-store-contract';

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

test('four consumers leasing from DynamoDB at once reserve disjoint stretches of the clock, each no faster than the rate', async () => {
  // prepare: every applied lease write is recorded (what the budget item says it reserved); the run
  // ends once three seconds' worth of calls were leased, however slow the machine
  const rate = 1_000;
  const target = 3 * rate;
  const leases: { startUs: number; endUs: number }[] = [];
  const dynamoStore = new budgetModule.DynamoDbLeaseStore(dynamoDb.tableNames.RateBudget, 'concurrent');
  const store = {
    get lastSeen() {
      return dynamoStore.lastSeen;
    },
    async apply(write: Parameters<typeof dynamoStore.apply>[0]) {
      const result = await dynamoStore.apply(write);
      if (result.applied)
        leases.push({ startUs: result.item.reservedUntilUs! - write.durationUs, endUs: result.item.reservedUntilUs! });
      return result;
    },
  };
  const deadline = Date.now() + 60_000;
  const budgets = Array.from(
    { length: 4 },
    () => new budgetModule.RateBudget({ store, ratePerSecond: rate, latestStartMs: deadline }),
  );
  let granted = 0;

  // act: each consumer keeps 20 calls in flight; a call ends on the next turn of the event loop
  await Promise.all(
    budgets.map(async (budget) => {
      budget.expect(Number.POSITIVE_INFINITY);
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (granted < target && (await budget.take())) {
            granted++;
            await new Promise((resolve) => setImmediate(resolve));
          }
        }),
      );
    }),
  );

  // assess: DynamoDB's conditions kept the leases apart (no stretch of the clock leased twice), and
  // no lease holds more calls than the rate allows in its stretch, so no second can hold more than the rate
  const leased = budgets.reduce((sum, budget) => sum + budget.leased, 0);
  expect(granted).toBeGreaterThanOrEqual(target);
  expect(leases.length).toBeGreaterThan(4);
  const sorted = [...leases].sort((a, b) => a.startUs - b.startUs);
  for (let i = 1; i < sorted.length; i++) expect(sorted[i].startUs).toBeGreaterThanOrEqual(sorted[i - 1].endUs);
  const leasedUs = sorted.reduce((sum, lease) => sum + (lease.endUs - lease.startUs), 0);
  expect(leased).toBeLessThanOrEqual((leasedUs / 1e6) * rate + sorted.length);
}, 90_000);

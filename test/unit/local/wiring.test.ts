/**
 * The local stack's wiring plan against functions/catalog.ts: every function is wired by its
 * trigger, so a function the local stack would leave out fails here, not in an integration test.
 */
import { readFileSync } from 'node:fs';
import { type CatalogEntry, catalogEntries, type FunctionName, routesOf } from '../../../functions/catalog';
import { GATEWAY_ROUTES, LocalWiringError, localWiringPlan } from '../../../local/wiring';
import { BROADCAST_ASL_FILE } from '../../../statemachines/broadcast-contract';

const plan = localWiringPlan();

test('every catalog function is wired exactly once: by the gateway or by the local Lambda runtime', () => {
  const wired = [...plan.routes.map(({ name }) => name), ...plan.invoked];

  expect([...wired].sort()).toEqual(
    catalogEntries()
      .map(([name]) => name)
      .sort(),
  );
});

test.each(catalogEntries())('%s is wired where its trigger says', (name, { trigger }) => {
  if (trigger.kind === 'route')
    for (const key of routesOf(trigger)) expect(plan.routes).toContainEqual({ route: GATEWAY_ROUTES[key], name });
  else if (trigger.kind === 'shardQueueConsumer') expect(plan.shardQueueConsumer).toBe(name);
  else expect(plan.stateMachineTasks).toContain(name);
});

test('the gateway gets every WebSocket route, and the local Step Functions a function for every task of the ASL', () => {
  const placeholders = new Set([...readFileSync(BROADCAST_ASL_FILE, 'utf8').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
  const wiredPlaceholders = plan.stateMachineTasks.map((name) => {
    const { trigger } = Object.fromEntries(catalogEntries())[name];
    return trigger.kind === 'stateMachineTask' ? trigger.arnPlaceholder : undefined;
  });

  expect(plan.routes.map(({ route }) => route).sort()).toEqual([...new Set(Object.values(GATEWAY_ROUTES))].sort());
  expect(wiredPlaceholders.sort()).toEqual([...placeholders].sort());
});

test('a catalog without exactly one shard queue consumer is refused, naming what it found', () => {
  const withoutConsumer = catalogEntries().filter(([, { trigger }]) => trigger.kind !== 'shardQueueConsumer');
  const consumer = catalogEntries().find(([, { trigger }]) => trigger.kind === 'shardQueueConsumer')!;
  const twoConsumers: [FunctionName, CatalogEntry][] = [...catalogEntries(), ['other' as FunctionName, consumer[1]]];

  expect(() => localWiringPlan(withoutConsumer)).toThrow(
    new LocalWiringError(
      'the local stack needs exactly one shard queue consumer in functions/catalog.ts, found 0: none',
    ),
  );
  expect(() => localWiringPlan(twoConsumers)).toThrow(/found 2: post-message, other$/);
});

/**
 * What one @connections post costs the local gateway: SigV4-signed posts from ConnectionPoster
 * (the consumers' client) to virtual connections of one gateway worker, without the quota.
 * Prints, median of the rounds, posts/s and CPU per post of the gateway worker (HTTP parsing,
 * the SigV4 check, the virtual delivery) and of the caller (signing, undici): the part of
 * bench:quota's end-to-end rate that is the gateway's, measured alone.
 *
 *   npx tsx bench/gateway-post-cost.ts [posts=20000] [rounds=5]
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { ConnectionPoster, preparePayload } from '#commons/clients/management-api';
import { forEachWithConcurrency } from '#commons/helpers/concurrency';
import { startGateway } from '../local/gateway';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../lib/local-account';
import { median } from './stats';

const posts = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 5);
/** Posts in flight, as one consumer invocation keeps (postConcurrency). */
const CONCURRENCY = 64;

async function main(): Promise<void> {
  const gateway = await startGateway({
    handlers: {},
    workers: 1,
    handlerOutput: 'ignore',
    quota: 'off',
    connectRate: 'off',
    virtualConnections: posts,
  });
  const client = new ApiGatewayManagementApiClient({
    endpoint: gateway.connectionsEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const poster = new ConnectionPoster(gateway.connectionsEndpoint, client, CONCURRENCY);
  const payload = preparePayload(JSON.stringify({ text: 'bench' }));
  const ids = Array.from({ length: posts }, (_, n) => gateway.virtualConnectionId(n));
  const gatewayCpuMs = async () => (await gateway.stats()).workers.reduce((sum, w) => sum + w.cpuMs, 0);
  const results: { perSecond: number; gatewayUs: number; callerUs: number }[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const [gatewayBefore, callerBefore, started] = [await gatewayCpuMs(), process.cpuUsage(), performance.now()];
      await forEachWithConcurrency(ids, CONCURRENCY, async (id) => {
        const outcome = await poster.post(id, payload);
        if (outcome !== 'delivered') throw new Error(`post to ${id}: ${outcome}`);
      });
      const seconds = (performance.now() - started) / 1000;
      const caller = process.cpuUsage(callerBefore);
      const result = {
        perSecond: Math.round(posts / seconds),
        gatewayUs: Math.round((((await gatewayCpuMs()) - gatewayBefore) * 1000) / posts),
        callerUs: Math.round((caller.user + caller.system) / posts),
      };
      results.push(result);
      console.log(
        `round ${round + 1}: ${result.perSecond} posts/s, gateway ${result.gatewayUs} µs CPU/post, caller ${result.callerUs} µs CPU/post`,
      );
    }
    const virtual = await gateway.virtualDeliveries();
    if (virtual.delivered !== posts || virtual.posts !== posts * rounds)
      throw new Error(`counted ${virtual.delivered} ids, ${virtual.posts} posts`);
  } finally {
    await poster.close();
    client.destroy();
    await gateway.stop();
  }
  const m = (key: keyof (typeof results)[number]) => median(results.map((r) => r[key]));
  console.log(
    `median of ${rounds}: ${m('perSecond')} posts/s, gateway ${m('gatewayUs')} µs CPU/post, caller ${m('callerUs')} µs CPU/post`,
  );
  console.log(`npx tsx bench/gateway-post-cost.ts ${posts} ${rounds}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

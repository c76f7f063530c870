/**
 * The delivery hot loop: PostToConnection through the SDK client versus ConnectionPoster
 * (aws4 signing over a precomputed payload hash + an undici keep-alive pool), against the
 * local gateway, to the same sockets, in the same run. Prints posts/s and the caller's CPU
 * per post (what decides Lambda compute per socket), median of the rounds.
 *
 *   npx tsx bench/post-throughput.ts [sockets=5000] [rounds=5]
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { ConnectionPoster, preparePayload } from '#commons/clients/management-api';
import { forEachWithConcurrency } from '#commons/helpers/concurrency';
import { ClientSwarm } from '../local/clients/swarm';
import { startGateway } from '../local/gateway';
import { LOCAL_CREDENTIALS } from '../lib/local-account';
import { median } from './stats';

const sockets = Number(process.argv[2] ?? 5_000);
const rounds = Number(process.argv[3] ?? 5);
const CONCURRENCY = 64;

async function main(): Promise<void> {
  const handlers = { connect: `${__dirname}/gateway-record-ids.ts` };
  // The gateway's own speed, so without AWS's throttles (quota and connect rate 'off').
  const gateway = await startGateway({
    handlers,
    env: { RECORD_IDS_FILE: `/tmp/swarmcast-bench-ids-${process.pid}` },
    workers: 1,
    handlerOutput: 'ignore',
    quota: 'off',
    connectRate: 'off',
  });
  const swarm = await ClientSwarm.connect(gateway.webSocketUrl, sockets);
  const { readFile, rm } = await import('node:fs/promises');
  const ids = (await readFile(`/tmp/swarmcast-bench-ids-${process.pid}`, 'utf8')).trim().split('\n');
  await rm(`/tmp/swarmcast-bench-ids-${process.pid}`);
  const credentials = LOCAL_CREDENTIALS; // the local @connections API checks SigV4 against these
  const client = new ApiGatewayManagementApiClient({
    endpoint: gateway.connectionsEndpoint,
    region: 'us-east-1',
    credentials,
  });
  const poster = new ConnectionPoster(gateway.connectionsEndpoint, client, CONCURRENCY);

  const posters: Record<string, (id: string, message: string) => Promise<void>> = {
    sdk: async (id, message) => {
      await client.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from(message) }));
    },
    'connection-poster': async (id, message) => {
      const outcome = await poster.post(id, preparePayload(message));
      if (outcome !== 'delivered') throw new Error(`post answered ${outcome}`);
    },
  };
  const results: Record<string, { rate: number[]; cpuUs: number[] }> = {
    sdk: { rate: [], cpuUs: [] },
    'connection-poster': { rate: [], cpuUs: [] },
  };
  for (let round = 0; round <= rounds; round++) {
    for (const [name, post] of Object.entries(posters)) {
      const marker = `${name}-${round}`;
      await swarm.watch(marker);
      const message = JSON.stringify({ marker, padding: 'x'.repeat(60) });
      const cpuBefore = process.cpuUsage();
      const start = performance.now();
      await forEachWithConcurrency(ids, CONCURRENCY, (id) => post(id, message));
      const report = await swarm.waitForAll(60_000);
      const seconds = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      if (report.received !== sockets || report.duplicates !== 0)
        throw new Error(`${name}: ${report.received}/${sockets} received, ${report.duplicates} duplicates`);
      if (round === 0) continue; // warm-up round: JIT, keep-alive connections
      results[name].rate.push(sockets / seconds);
      results[name].cpuUs.push((cpu.user + cpu.system) / sockets);
    }
  }
  await swarm.close();
  await swarm.stop();
  await poster.close();
  await gateway.stop();

  console.log(
    `\nnpx tsx bench/post-throughput.ts ${sockets} ${rounds}   (${sockets} sockets, ${CONCURRENCY} posts in flight, median of ${rounds} rounds)`,
  );
  for (const [name, { rate, cpuUs }] of Object.entries(results)) {
    console.log(
      `  ${name.padEnd(18)} ${Math.round(median(rate)).toLocaleString('en-US').padStart(7)} posts/s   ${median(cpuUs).toFixed(0).padStart(4)} µs caller CPU per post`,
    );
  }
  const ratio = median(results['connection-poster'].rate) / median(results.sdk.rate);
  const cpuRatio = median(results.sdk.cpuUs) / median(results['connection-poster'].cpuUs);
  console.log(
    `  connection-poster vs sdk: ${ratio.toFixed(1)}x the posts/s, ${cpuRatio.toFixed(1)}x less CPU per post`,
  );
}

void main();

/**
 * `swarmcast local --cells K`: K local cells and a coordinator (local/fleet.ts) until Ctrl-C. Its
 * fleet file goes into the registry of local stacks, where `--fleet local` finds it.
 */
import { formatThrottle } from '../local/gateway/throttles';
import type { Throttle } from '../local/gateway';
import { startLocalFleet } from '../local/fleet';
import { publishLocalFleet, unpublishLocalFleet } from '../lib/local-fleets';
import { resolveFleet } from '../lib/fleet';
import { startFleetConsole } from '../local/console/server';
import type { SwarmcastConfig } from '../infra/config';

export interface LocalFleetRun {
  cells: number;
  stepfunctionsPort: number;
  consolePort: number;
  gatewayWorkers: number;
  keepExecutions: number;
  config: Partial<SwarmcastConfig>;
  quota: Throttle;
  connectRate: Throttle;
  json?: boolean;
}

export async function runLocalFleet(options: LocalFleetRun): Promise<void> {
  const localFleet = await startLocalFleet({
    cells: options.cells,
    stepFunctionsPort: options.stepfunctionsPort,
    // Each cell is its own account: its own throttle and connect rate, at the values given.
    cell: {
      config: options.config,
      gatewayWorkers: options.gatewayWorkers,
      keepFinishedExecutions: options.keepExecutions,
      quota: options.quota,
      connectRate: options.connectRate,
    },
  });
  const fleetFile = await publishLocalFleet(localFleet.fleet);
  const fleetTarget = await resolveFleet(fleetFile);
  const webConsole = await startFleetConsole({ fleet: fleetTarget, port: options.consolePort });
  const throttles = `account ${formatThrottle(options.quota)} calls/s, new connections ${formatThrottle(options.connectRate)}/s, per cell`;
  if (options.json)
    console.log(JSON.stringify({ fleetFile, fleet: localFleet.fleet, consoleUrl: webConsole.url, throttles }));
  else
    console.log(`swarmcast local fleet of ${options.cells} cell(s) is running (in memory)

  console              ${webConsole.url}
  fleet file           ${fleetFile}
  coordinator          ${localFleet.coordinator.stateMachineArn} at ${localFleet.coordinator.endpoint}
${localFleet.fleet.cells.map((cell) => `  ${cell.name.padEnd(20)} ${cell.url}  (Step Functions ${cell.stepFunctionsEndpoint})`).join('\n')}
  throttles            ${throttles}

Clients spread over the cells with the fleet file (client/fleet.ts). Then, for example:
  npx swarmcast send --fleet local --message "hello" --wait
  npx swarmcast list --fleet local

Ctrl-C stops everything.`);
  // `on`, not `once`: a second Ctrl-C must not kill the process halfway through stopping.
  const failure = await new Promise<string | undefined>((resolve) => {
    process.on('SIGINT', () => resolve(undefined));
    process.on('SIGTERM', () => resolve(undefined));
    for (const { name, stack } of localFleet.cells) void stack.failed.then((why) => resolve(`${name}: ${why}`));
  });
  if (failure) {
    console.error(`\nswarmcast local: ${failure}`);
    process.exitCode = 1;
  }
  console.error('\nswarmcast local: stopping the fleet…');
  await unpublishLocalFleet();
  await webConsole.stop();
  fleetTarget.close();
  await localFleet.stop();
  console.error(failure ? `swarmcast local: stopped because ${failure}` : 'swarmcast local: stopped.');
}

/**
 * `swarmcast local`: runs the local stack and its web console until Ctrl-C, and publishes the
 * stack's endpoints in the registry of local stacks (lib/local-stacks.ts) so the other commands find it without flags.
 */
import { type Command, Option } from 'commander';
import { startConsole } from '../../local/console/server';
import { publishLocalStack, removeStaleEntries, unpublishLocalStack } from '../../lib/local-stacks';
import { startLocalStack } from '../../local/stack';
import { DEFAULT_KEEP_FINISHED_EXECUTIONS } from '../../local/stepfunctions/service';
import type { Throttle } from '../../local/gateway';
import { formatThrottle } from '../../local/gateway/throttles';
import { checkDataDir } from '../data-dir';
import { parsePositiveInteger, throttleOptions } from '../options';
import { collectSetting, overridesFromSettings, SET_OPTION_HELP } from '../settings';
import { runLocalFleet } from '../local-fleet';
import { MAX_LOCAL_CELLS } from '../../local/fleet';

interface LocalOptions {
  port: number;
  stepfunctionsPort: number;
  consolePort: number;
  gatewayWorkers: number;
  keepExecutions: number;
  data?: string;
  set?: string[];
  connectAuthorizer?: string;
  json?: boolean;
  quota: Throttle;
  connectRate: Throttle;
  cells?: number;
}

export function registerLocalCommand(program: Command): void {
  const command = program
    .command('local')
    .description(
      'run the local stack for your own clients until Ctrl-C: WebSocket API, @connections API, Step Functions, DynamoDB and SQS on loopback',
    )
    .addOption(
      new Option('--port <n>', 'port of the WebSocket and @connections endpoint')
        .default(7700)
        .argParser(parsePositiveInteger('--port', 65_535)),
    )
    .addOption(
      new Option('--stepfunctions-port <n>', 'port of the Step Functions API')
        .default(7701)
        .argParser(parsePositiveInteger('--stepfunctions-port', 65_535)),
    )
    .addOption(
      new Option('--gateway-workers <n>', 'gateway processes (each holds up to ~20,000 sockets)')
        .default(1)
        .argParser(parsePositiveInteger('--gateway-workers', 16)),
    )
    .addOption(
      new Option('--console-port <n>', 'port of the web console')
        .default(7702)
        .argParser(parsePositiveInteger('--console-port', 65_535)),
    )
    .addOption(
      new Option(
        '--keep-executions <n>',
        'finished broadcasts whose executions stay in memory, the newest (AWS keeps them 90 days)',
      )
        .default(DEFAULT_KEEP_FINISHED_EXECUTIONS)
        .argParser(parsePositiveInteger('--keep-executions', 1_000_000)),
    )
    .option('--data <dir>', 'keep the tables on disk in this folder across restarts (default: in memory)')
    .addOption(
      new Option('--set <key=value>', `${SET_OPTION_HELP}, e.g. --set deliveryTimeoutSeconds=10`).argParser(
        collectSetting,
      ),
    )
    .option(
      '--connect-authorizer <file>',
      'a $connect REQUEST authorizer handler to run before $connect, as on AWS (its secret from CONNECT_AUTHORIZER_SECRET)',
    )
    .addOption(
      new Option(
        '--cells <k>',
        `run a fleet of K cells (each its own local stack, throttle and connect rate, on free ports), a coordinator on --stepfunctions-port and the fleet's console on --console-port; writes the fleet file for --fleet local (1 to ${MAX_LOCAL_CELLS})`,
      )
        .argParser(parsePositiveInteger('--cells', MAX_LOCAL_CELLS))
        .conflicts(['data', 'port']),
    )
    .option('--json', 'print one JSON object: where each service listens (then run until Ctrl-C)');
  for (const option of throttleOptions()) command.addOption(option);
  command.action(async (options: LocalOptions) => {
    const { overrides } = overridesFromSettings([
      ...(options.set ?? []),
      ...(options.connectAuthorizer ? [`connectAuthorizer=${options.connectAuthorizer}`] : []),
    ]);
    if (options.cells !== undefined) return runLocalFleet({ ...options, cells: options.cells, config: overrides });
    if (options.data !== undefined) await checkDataDir(options.data);
    const stack = await startLocalStack({
      config: overrides,
      gatewayPort: options.port,
      stepFunctionsPort: options.stepfunctionsPort,
      gatewayWorkers: options.gatewayWorkers,
      dataDir: options.data,
      keepFinishedExecutions: options.keepExecutions,
      quota: options.quota,
      connectRate: options.connectRate,
    });
    const webConsole = await startConsole({
      stepFunctionsEndpoint: stack.stepFunctionsEndpoint,
      stateMachineArn: stack.stateMachineArn,
      port: options.consolePort,
    }).catch(async (error) => {
      await stack.stop();
      throw error;
    });
    await removeStaleEntries();
    await publishLocalStack(stack);
    const {
      region,
      webSocketUrl,
      connectionsEndpoint,
      stepFunctionsEndpoint,
      dynamoDbEndpoint,
      sqsEndpoint,
      stateMachineArn,
    } = stack;
    if (options.json) {
      const throttles = { quota: formatThrottle(options.quota), connectRate: formatThrottle(options.connectRate) };
      console.log(
        JSON.stringify({
          region,
          webSocketUrl,
          connectionsEndpoint,
          stepFunctionsEndpoint,
          dynamoDbEndpoint,
          sqsEndpoint,
          stateMachineArn,
          consoleUrl: webConsole.url,
          throttles,
        }),
      );
    } else
      console.log(`swarmcast local stack is running${options.data ? ` (tables kept in ${options.data})` : ' (in memory)'}

  console              ${webConsole.url}
  WebSocket URL        ${stack.webSocketUrl}
  @connections API     ${stack.connectionsEndpoint}
  Step Functions API   ${stack.stepFunctionsEndpoint}
  state machine        ${stack.stateMachineArn}
  throttles            account ${formatThrottle(options.quota)} calls/s (rate/burst), new connections ${formatThrottle(options.connectRate)}/s

Point the AWS SDK or the AWS CLI at it:

  export AWS_REGION=${stack.region} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  export AWS_ENDPOINT_URL_SFN=${stack.stepFunctionsEndpoint}
  export AWS_ENDPOINT_URL_DYNAMODB=${stack.dynamoDbEndpoint}
  export AWS_ENDPOINT_URL_SQS=${stack.sqsEndpoint}
  export AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI=${stack.connectionsEndpoint}

Then, for example:  npx wscat -c ${stack.webSocketUrl}
                    npx swarmcast send --message "hello" --wait

Ctrl-C stops everything.`);
    // `on`, not `once`: Ctrl-C can arrive twice (from the terminal and relayed by tsx), and
    // a second one must not kill the process halfway through stopping.
    const failure = await new Promise<string | undefined>((resolve) => {
      process.on('SIGINT', () => resolve(undefined));
      process.on('SIGTERM', () => resolve(undefined));
      void stack.failed.then(resolve);
    });
    if (failure) {
      console.error(`\nswarmcast local: ${failure}`);
      process.exitCode = 1;
    }
    console.error('\nswarmcast local: stopping…');
    await unpublishLocalStack();
    await webConsole.stop();
    await stack.stop();
    // Stopping can print many lines (handlers failing against the dead service): the reason comes last, once more.
    console.error(failure ? `swarmcast local: stopped because ${failure}` : 'swarmcast local: stopped.');
  });
}

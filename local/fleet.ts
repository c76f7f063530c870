/**
 * A fleet on one machine, behind `swarmcast local --cells K` and the fleet tests: K cells, each a
 * whole local stack (local/stack.ts) with its own account throttle and connect rate, and a
 * coordinator — its own local Step Functions running statemachines/fleet.asl.json, with the
 * coordinator's functions in the local Lambda runtime. It gives its fleet file (client/fleet.ts).
 */
import path from 'node:path';
import type { Fleet } from '../client/fleet';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../lib/local-account';
import {
  COORDINATOR_FUNCTIONS,
  type CoordinatorFunctionName,
  FLEET_ASL_FILE,
  fleetArnSubstitutions,
} from '../statemachines/fleet-contract';
import { startLocalFunction } from './lambda/local-function';
import { LOCAL_ACCOUNT } from './stepfunctions/arns';
import { type LocalStack, type LocalStackOptions, startLocalStack } from './stack';
import { type LambdaRegistry, type LocalStepFunctions, startStepFunctions } from './stepfunctions';

/**
 * Each cell is a whole stack (dynalite, local-aws-sqs, a gateway worker and Lambda instances: ~8
 * processes), and the machine has 2 cores: past 8 cells they slow each other more than they add.
 */
export const MAX_LOCAL_CELLS = 8;
export const LOCAL_FLEET_STATE_MACHINE_NAME = 'swarmcast-fleet';

/** A local cell's name: cell-1 … cell-K. */
export const localCellName = (index: number): string => `cell-${index + 1}`;

export type LocalCellOptions = Omit<LocalStackOptions, 'gatewayPort' | 'stepFunctionsPort' | 'dataDir'>;

export interface LocalFleetOptions {
  cells: number;
  /** Options of each cell's stack (quota and connect rate are per cell, as each cell is its own account): the same for all, or per cell index. */
  cell?: LocalCellOptions | ((index: number) => LocalCellOptions);
  /** The coordinator's Step Functions port (0 or absent: any free port). */
  stepFunctionsPort?: number;
  /** The coordinator's Wait between reads of a cell, shortened for a local run. */
  pollMs?: number;
}

export interface LocalFleet {
  fleet: Fleet;
  cells: { name: string; stack: LocalStack }[];
  coordinator: LocalStepFunctions & { stateMachineArn: string };
  stop(): Promise<void>;
}

export class LocalFleetError extends Error {
  override name = 'LocalFleetError';
}

const coordinatorFunctionArn = (name: CoordinatorFunctionName): string =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:swarmcast-${name}`;

export async function startLocalFleet(options: LocalFleetOptions): Promise<LocalFleet> {
  const { cells: count } = options;
  if (!Number.isInteger(count) || count < 1 || count > MAX_LOCAL_CELLS)
    throw new LocalFleetError(`cells must be a whole number from 1 to ${MAX_LOCAL_CELLS} on one machine, got ${count}`);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error) => console.error(`local fleet: ${error}`));
    stops.length = 0;
  };
  try {
    const cells: LocalFleet['cells'] = [];
    // One after the other: each start spawns several processes, and two cores start them no faster together.
    for (let i = 0; i < count; i++) {
      const stack = await startLocalStack(typeof options.cell === 'function' ? options.cell(i) : options.cell);
      cells.push({ name: localCellName(i), stack });
      stops.push(() => stack.stop());
    }
    // The coordinator's functions get what Lambda gives them: a Region and credentials, nothing of any cell.
    const env = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    };
    const lambdas: LambdaRegistry = new Map();
    for (const [name, { handler }] of Object.entries(COORDINATOR_FUNCTIONS)) {
      const fn = await startLocalFunction({
        name,
        modulePath: path.join(__dirname, '..', 'functions', handler),
        env,
        maxInstances: count + 1,
      });
      stops.push(() => fn.stop());
      lambdas.set(coordinatorFunctionArn(name as CoordinatorFunctionName), fn.handler);
    }
    const stepFunctions = await startStepFunctions({
      port: options.stepFunctionsPort,
      lambdas,
      waitOverrideMs: options.pollMs ?? 100,
      // Throttled or unreachable cells are retried a few times before they are reported: quickly here.
      retryOverrideMs: 50,
    });
    stops.push(() => stepFunctions.stop());
    const stateMachineArn = stepFunctions.registerStateMachine({
      name: LOCAL_FLEET_STATE_MACHINE_NAME,
      definitionFile: FLEET_ASL_FILE,
      substitutions: fleetArnSubstitutions(coordinatorFunctionArn),
    });
    const fleet: Fleet = {
      coordinator: { stateMachineArn, stepFunctionsEndpoint: stepFunctions.endpoint },
      cells: cells.map(({ name, stack }) => ({
        name,
        url: stack.webSocketUrl,
        weight: 1,
        region: stack.region,
        stateMachineArn: stack.stateMachineArn,
        stepFunctionsEndpoint: stack.stepFunctionsEndpoint,
      })),
    };
    return { fleet, cells, coordinator: { ...stepFunctions, stateMachineArn }, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

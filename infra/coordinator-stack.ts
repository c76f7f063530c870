/**
 * The coordinator stage of a fleet (docs/fleet.md): the fleet state machine
 * (statemachines/fleet.asl.json) and its two functions. Only CellExecution reaches the cells: its
 * role has a fixed name (each cell's access role trusts exactly it) and may assume only the cells'
 * access roles named in the fleet file.
 */
import * as path from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { Fleet } from '../client/fleet';
import { COORDINATOR_FUNCTIONS, type CoordinatorFunctionName, FLEET_ASL_FILE } from '../statemachines/fleet-contract';
import { BroadcastStateMachine } from './constructs/broadcast-state-machine';
import { repoRoot, SwarmcastFunction } from './constructs/swarmcast-function';
import { InvalidConfigError } from './config';

export const COORDINATOR_OUTPUTS = {
  fleetStateMachineArn: 'FleetStateMachineArn',
  coordinatorRoleArn: 'CoordinatorRoleArn',
} as const;

/** The fixed name of the role that calls the cells: a cell's trust policy names it before it takes effect. */
export const coordinatorRoleName = (stackName: string): string => `${stackName}-cells`;

export interface CoordinatorStackProps extends StackProps {
  /** The fleet file (client/fleet.ts parseFleet): every cell needs its roleArn. */
  fleet: Fleet;
}

export class CoordinatorStack extends Stack {
  constructor(scope: Construct, id: string, props: CoordinatorStackProps) {
    super(scope, id, props);
    const roleArns = props.fleet.cells.map((cell) => {
      if (!cell.roleArn)
        throw new InvalidConfigError(
          `fleet cell ${cell.name} has no roleArn: deploy the cell with -c swarmcast:coordinatorRoleArn=... and copy its CellAccessRoleArn output into the fleet file`,
        );
      return cell.roleArn;
    });

    const functions = new Map<CoordinatorFunctionName, SwarmcastFunction>();
    for (const [name, entry] of Object.entries(COORDINATOR_FUNCTIONS) as [
      CoordinatorFunctionName,
      (typeof COORDINATOR_FUNCTIONS)[CoordinatorFunctionName],
    ][]) {
      functions.set(
        name,
        new SwarmcastFunction(this, entry.constructId, {
          name,
          entry: path.join(repoRoot, 'functions', entry.handler),
          description: entry.description,
          memorySize: entry.memoryMb,
          timeout: Duration.seconds(entry.timeoutSeconds),
          ...(entry.callsCells && { roleName: coordinatorRoleName(this.stackName) }),
        }),
      );
    }
    const cellCaller = functions.get('cell-execution')!;
    cellCaller.role!.addToPrincipalPolicy(new PolicyStatement({ actions: ['sts:AssumeRole'], resources: roleArns }));

    const fleet = new BroadcastStateMachine(this, 'Fleet', {
      definitionFile: FLEET_ASL_FILE,
      stateMachineName: `${this.stackName}-fleet`,
      functions: Object.fromEntries(
        [...functions].map(([name, fn]) => [COORDINATOR_FUNCTIONS[name].arnPlaceholder, fn]),
      ),
    });

    new CfnOutput(this, COORDINATOR_OUTPUTS.fleetStateMachineArn, {
      value: fleet.stateMachine.stateMachineArn,
      description: "The fleet file's coordinator.stateMachineArn: `swarmcast send --fleet` starts it.",
    });
    new CfnOutput(this, COORDINATOR_OUTPUTS.coordinatorRoleArn, {
      value: cellCaller.role!.roleArn,
      description: 'Each cell trusts this role: deploy the cells with -c swarmcast:coordinatorRoleArn=<this>.',
    });
  }
}

/**
 * The two stages of a fleet, synthesized as `cdk synth` does (cdk.json's flags, cdk-nag's packs):
 * a cell's opt-in SwarmcastCellAccess role trusts exactly the coordinator's role and allows exactly
 * StartExecution on the cell's broadcast state machine and DescribeExecution on its executions; the
 * coordinator runs statemachines/fleet.asl.json and may assume exactly the fleet's cell roles.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { MAX_FLEET_CELLS, parseFleet } from '../../client/fleet';
import { CoordinatorStack, coordinatorRoleName } from '../../infra/coordinator-stack';
import { policyStatements, synthesize } from './synth';

const COORDINATOR_ROLE = 'arn:aws:iam::444455556666:role/SwarmcastCoordinator-cells';
const FLEET = parseFleet({
  cells: [
    {
      name: 'eu-1',
      url: 'wss://abc123.execute-api.eu-west-1.amazonaws.com/live',
      region: 'eu-west-1',
      account: '111122223333',
      roleArn: 'arn:aws:iam::111122223333:role/Swarmcast-cell-access',
    },
    {
      name: 'us-1',
      url: 'wss://def456.execute-api.us-east-1.amazonaws.com/live',
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::222233334444:role/Swarmcast-cell-access',
    },
  ],
});

const states = (resource: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':states:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:${resource}`,
    ],
  ],
});

test("a cell's access role trusts only the coordinator's role and allows only starting and reading its broadcasts", () => {
  // act
  const { template } = synthesize({ shards: 2 }, { bundle: false, coordinatorRoleArn: COORDINATOR_ROLE });

  // assess
  const roles = Object.values(
    template.findResources('AWS::IAM::Role', { Properties: { RoleName: 'Swarmcast-cell-access' } }),
  );
  expect(roles).toHaveLength(1);
  const [role] = roles;
  expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
    { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: COORDINATOR_ROLE } },
  ]);
  expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  expect(role.Properties.Policies).toEqual([
    {
      PolicyName: 'StartAndReadBroadcasts',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'states:StartExecution', Effect: 'Allow', Resource: states('stateMachine:Swarmcast-broadcast') },
          { Action: 'states:DescribeExecution', Effect: 'Allow', Resource: states('execution:Swarmcast-broadcast:*') },
        ],
      },
    },
  ]);
  // Nothing else is attached to it.
  const [logicalId] = Object.keys(
    template.findResources('AWS::IAM::Role', { Properties: { RoleName: 'Swarmcast-cell-access' } }),
  );
  expect(policyStatements(template).filter(({ roles }) => roles.includes(logicalId))).toEqual([]);
  template.hasOutput('CellAccessRoleArn', {});
}, 120_000);

test('without a coordinator role a cell has no access role', () => {
  const { template } = synthesize({ shards: 2 }, { bundle: false });
  expect(template.findResources('AWS::IAM::Role', { Properties: { RoleName: 'Swarmcast-cell-access' } })).toEqual({});
}, 120_000);

test("the coordinator runs the fleet ASL, and only its cell caller may assume only the fleet's cell roles", () => {
  // act
  const { context } = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'));
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  const stack = new CoordinatorStack(app, 'SwarmcastCoordinator', { fleet: FLEET });
  app.synth();
  const template = Template.fromStack(stack);

  // assess: the state machine, its Distributed Map grants, and who may assume the cells' roles
  template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
  template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
    StateMachineName: 'SwarmcastCoordinator-fleet',
  });
  const assumes = policyStatements(template).filter(({ statement }) =>
    [statement.Action].flat().some((action) => action.startsWith('sts:')),
  );
  const [callerRole] = Object.keys(
    template.findResources('AWS::IAM::Role', { Properties: { RoleName: coordinatorRoleName('SwarmcastCoordinator') } }),
  );
  expect(assumes).toEqual([
    {
      roles: [callerRole],
      statement: { Action: 'sts:AssumeRole', Effect: 'Allow', Resource: FLEET.cells.map((cell) => cell.roleArn) },
    },
  ]);
  template.hasOutput('FleetStateMachineArn', {});
  template.hasOutput('CoordinatorRoleArn', {});
}, 120_000);

test('a fleet cell without its roleArn is refused at synth, saying how to get it', () => {
  const app = new App();
  const fleet = parseFleet({ cells: [{ name: 'a', url: 'wss://a.example.com/live', region: 'eu-west-1' }] });
  expect(() => new CoordinatorStack(app, 'C', { fleet })).toThrow(
    'fleet cell a has no roleArn: deploy the cell with -c swarmcast:coordinatorRoleArn=... and copy its CellAccessRoleArn output into the fleet file',
  );
});

test('statemachines/fleet.asl.json is valid Amazon States Language, and every cell step is caught', () => {
  // asl-validator ships no types: it is a function of the definition returning {isValid, errors}.
  const aslValidator: (definition: unknown) => { isValid: boolean; errors: unknown[] } = require('asl-validator');
  const definition = JSON.parse(readFileSync(path.join(__dirname, '../../statemachines/fleet.asl.json'), 'utf8'));
  expect(aslValidator(definition).errors).toEqual([]);
  expect(definition.States.Cells.MaxConcurrency).toBe(MAX_FLEET_CELLS);
  // A cell that cannot be reached ends its own iteration with { status, error }, never the fleet broadcast.
  const cellStates = definition.States.Cells.ItemProcessor.States;
  for (const name of ['StartCell', 'DescribeCell'])
    expect(cellStates[name].Catch.at(-1)).toEqual({
      ErrorEquals: ['States.ALL'],
      ResultPath: '$.failure',
      Next: 'CellUnreachable',
    });
});

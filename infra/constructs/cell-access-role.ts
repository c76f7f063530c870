/**
 * SwarmcastCellAccess: the one way into a cell of a fleet. It trusts only the coordinator's
 * CellExecution role and allows only starting this cell's broadcast state machine and reading its
 * executions — nothing else of the cell (docs/fleet.md).
 */
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { ArnPrincipal, PolicyDocument, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export interface CellAccessRoleProps {
  /** The coordinator's role (arn:aws:iam::ACCOUNT:role/NAME), the only principal trusted. */
  coordinatorRoleArn: string;
  /** The cell's broadcast state machine, by its fixed name. */
  stateMachineName: string;
  /** Fixed, so the fleet file and the coordinator's policy can name it before it exists. */
  roleName: string;
}

export class CellAccessRole extends Construct {
  readonly role: Role;

  constructor(scope: Construct, id: string, props: CellAccessRoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const arn = (resource: 'stateMachine' | 'execution', resourceName: string) =>
      stack.formatArn({ service: 'states', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const executions = `${props.stateMachineName}:*`;
    this.role = new Role(this, 'Role', {
      roleName: props.roleName,
      description: "swarmcast fleet: the coordinator starts and reads this cell's broadcasts, nothing else.",
      assumedBy: new ArnPrincipal(props.coordinatorRoleArn),
      inlinePolicies: {
        StartAndReadBroadcasts: new PolicyDocument({
          statements: [
            new PolicyStatement({
              actions: ['states:StartExecution'],
              resources: [arn('stateMachine', props.stateMachineName)],
            }),
            new PolicyStatement({ actions: ['states:DescribeExecution'], resources: [arn('execution', executions)] }),
          ],
        }),
      },
    });
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${executions}]`,
      reason:
        "Execution names exist only at run time (<fleet id>-<cell>): the grant names this cell's broadcast executions only.",
    });
  }
}

/** The CDK construct of the broadcast state machine, built from the ASL file the local stack runs too. */
import { readFileSync } from 'node:fs';
import { ArnFormat, type CfnElement, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface BroadcastStateMachineProps {
  /** The ASL file, the single source of truth the local stack runs as well. */
  definitionFile: string;
  /** Fixed name, so the role's policy can name the machine's own ARN without a circular reference. */
  stateMachineName: string;
  /** Values of the `${...}` placeholders in the ASL file. Every placeholder must have one. */
  functions: Readonly<Record<string, IFunction>>;
  logRetention?: RetentionDays;
}

/**
 * The Standard state machine "broadcast": Prepare, the Distributed Map "FanOut" over the
 * partitions, the AwaitDelivery loop. Its role may invoke exactly the functions the ASL names
 * and run child executions of its own Distributed Maps.
 */
export class BroadcastStateMachine extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: BroadcastStateMachineProps) {
    super(scope, id);
    const asl = readFileSync(props.definitionFile, 'utf8');
    assertSubstitutionsMatch(asl, props.functions);

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromFile(props.definitionFile),
      definitionSubstitutions: Object.fromEntries(
        Object.entries(props.functions).map(([name, fn]) => [name, fn.functionArn]),
      ),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'Logs', {
          // Under /aws/vendedlogs/ CloudWatch Logs needs no resource policy per log group, whose 5,120-byte limit many state machines exhaust.
          logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
          retention: props.logRetention ?? RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        // Errors and state transitions without payloads: messages are user content.
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    for (const fn of Object.values(props.functions)) {
      fn.grantInvoke(this.stateMachine);
      Validations.of(this.stateMachine.role).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason:
          "grantInvoke covers the function's versions and aliases (ARN:*) besides the function: still only the functions the ASL names.",
      });
    }
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray and CloudWatch Logs vended delivery (logs:CreateLogDelivery and friends) accept only "*".',
    });
    this.grantDistributedMap(props.stateMachineName, distributedMapLabels(asl));
  }

  /**
   * A Distributed Map starts, watches and stops child executions of this same state machine,
   * and a redrive of the parent redrives the Map Run's failed children. ARNs are built from
   * the fixed name: referencing `stateMachineArn` from its own role would be a cycle.
   */
  private grantDistributedMap(stateMachineName: string, labels: string[]): void {
    if (labels.length === 0) return;
    const stack = Stack.of(this);
    const arn = (resource: 'stateMachine' | 'execution', resourceName: string) =>
      stack.formatArn({ service: 'states', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    // Child execution ARNs: execution:<stateMachineName>/<mapRunLabel>:<id>.
    const childExecutions = labels.map((label) => arn('execution', `${stateMachineName}/${label}:*`));
    const role = this.stateMachine.role;
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['states:StartExecution'], resources: [arn('stateMachine', stateMachineName)] }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [arn('execution', `${stateMachineName}:*`), ...childExecutions],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['states:RedriveExecution'], resources: childExecutions }),
    );
    // Execution names are chosen at run time: the grants name this state machine's executions and its Map Runs' children, nothing wider.
    for (const resource of [
      `execution:${stateMachineName}:*`,
      ...labels.map((label) => `execution:${stateMachineName}/${label}:*`),
    ]) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:${resource}]`,
        reason:
          'A Distributed Map starts, describes, stops and redrives child executions whose names exist only at run time.',
      });
    }
  }
}

/** Fails synthesis when the ASL and the substitutions disagree, instead of failing the first execution. */
function assertSubstitutionsMatch(asl: string, substitutions: Readonly<Record<string, unknown>>): void {
  const placeholders = new Set([...asl.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]));
  const provided = new Set(Object.keys(substitutions));
  const missing = [...placeholders].filter((name) => !provided.has(name));
  const unused = [...provided].filter((name) => !placeholders.has(name));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(
      `state machine substitutions do not match the ASL file: missing ${missing.join(', ') || '-'}; unused ${unused.join(', ') || '-'}`,
    );
  }
}

interface AslState {
  Type?: string;
  Label?: string;
  ItemProcessor?: { ProcessorConfig?: { Mode?: string }; States?: Record<string, AslState> };
  Iterator?: { States?: Record<string, AslState> };
  Branches?: { States?: Record<string, AslState> }[];
}

/**
 * Map Run labels of the Distributed Maps anywhere in the definition. A Distributed Map without
 * a Label gets a generated one, which no narrow ARN can name: then every label is allowed.
 */
export function distributedMapLabels(asl: string): string[] {
  const labels = new Set<string>();
  const visit = (states: Record<string, AslState> = {}) => {
    for (const state of Object.values(states)) {
      if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED')
        labels.add(state.Label ?? '*');
      visit(state.ItemProcessor?.States);
      visit(state.Iterator?.States);
      for (const branch of state.Branches ?? []) visit(branch.States);
    }
  };
  visit((JSON.parse(asl) as { States: Record<string, AslState> }).States);
  return labels.has('*') ? ['*'] : [...labels];
}

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement, type Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { Template } from 'aws-cdk-lib/assertions';
import { resolveConfig, type SwarmcastConfig } from '../../infra/config';
import { SwarmcastStack } from '../../infra/swarmcast-stack';

const repoRoot = path.join(__dirname, '..', '..');

export interface Synthesized {
  config: SwarmcastConfig;
  stack: Stack;
  /** The cloud assembly directory: staged assets are `asset.<hash>` in it. */
  assemblyDirectory: string;
  template: Template;
  /** The ASL as deployed: the file asset the state machine's DefinitionS3Location points at. */
  definition: AslDefinition;
}

export interface AslDefinition {
  StartAt: string;
  States: Record<string, Record<string, any>>;
}

/**
 * Synthesizes the stack the way `cdk synth` does: with cdk.json's feature flags, so the
 * assertions see the template that deploys. `bundle: false` skips esbuild (the entry files
 * must still exist) for the stacks that only vary configuration. cdk-nag's AwsSolutions and
 * Serverless packs check every synthesis: an unacknowledged finding fails it.
 */
export function synthesize(
  overrides: Partial<SwarmcastConfig> = {},
  { bundle = true, coordinatorRoleArn }: { bundle?: boolean; coordinatorRoleArn?: string } = {},
): Synthesized {
  const { context } = JSON.parse(readFileSync(path.join(repoRoot, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = new App({ context: { ...context, ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  const config = resolveConfig(overrides);
  const stack = new SwarmcastStack(app, 'Swarmcast', { config, coordinatorRoleArn });
  const assembly = app.synth();
  const template = Template.fromStack(stack);
  const [stateMachine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const key = stateMachine.Properties.DefinitionS3Location.Key as string;
  const definition = JSON.parse(readFileSync(path.join(assembly.directory, `asset.${key}`), 'utf8')) as AslDefinition;
  return { config, stack, template, definition, assemblyDirectory: assembly.directory };
}

export interface PolicyStatementJson {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every inline policy, with the logical id of the role it is attached to. */
export function policyStatements(template: Template): { roles: string[]; statement: PolicyStatementJson }[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as PolicyStatementJson[]).map((statement) => ({
      roles: (policy.Properties.Roles as { Ref: string }[]).map((role) => role.Ref),
      statement,
    })),
  );
}

export const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Logical id of the CloudFormation resource behind a construct, by construct path under the stack ("PostMessage"). */
export function logicalIdOf(stack: Stack, constructPath: string): string {
  const construct = stack.node.findAll().find((c) => c.node.path === `${stack.node.id}/${constructPath}`);
  if (!construct) throw new Error(`no construct ${constructPath} in ${stack.node.id}`);
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** A Lambda function's properties and the logical id of its role, by construct id ("PostMessage"). */
export function functionOf(
  synthesized: Synthesized,
  constructId: string,
): { logicalId: string; roleId: string; properties: Record<string, any> } {
  const logicalId = logicalIdOf(synthesized.stack, constructId);
  const properties = synthesized.template.toJSON().Resources[logicalId].Properties as Record<string, any>;
  return { logicalId, roleId: properties.Role['Fn::GetAtt'][0], properties };
}

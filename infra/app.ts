/** The CDK app (cdk.json runs it): one SwarmcastStack, configured from CDK context. */
import { App } from 'aws-cdk-lib';
import { STACK_NAME } from '#commons/contract';
import { accountQuotaDefaultsFor, resolveConfig } from './config';
import { configOverridesFromContext, flagFromContext, stackNameFromContext } from './context';
import { SwarmcastStack } from './swarmcast-stack';

const app = new App();

new SwarmcastStack(app, stackNameFromContext(app.node, STACK_NAME), {
  description: 'swarmcast: broadcast one message to every client of a WebSocket API.',
  // The account quota defaults to the Region's (2,500/s in 13 Regions); the deployer's settings win.
  config: resolveConfig({
    ...accountQuotaDefaultsFor(process.env.CDK_DEFAULT_REGION),
    ...configOverridesFromContext(app.node),
  }),
  pointInTimeRecovery: flagFromContext(app.node, 'swarmcast:pointInTimeRecovery'),
  // Whatever account and region the CLI resolved (profile, AWS_REGION): nothing is hard-coded.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

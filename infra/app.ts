/**
 * The CDK app (cdk.json runs it), configured from CDK context: one SwarmcastStack (a cell), or with
 * `-c swarmcast:fleet=FILE` the coordinator stage of that fleet file (docs/fleet.md).
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { STACK_NAME } from '#commons/contract';
import { parseFleet } from '../client/fleet';
import { accountQuotaDefaultsFor, resolveConfig } from './config';
import { configOverridesFromContext, flagFromContext, stackNameFromContext } from './context';
import { CoordinatorStack } from './coordinator-stack';
import { SwarmcastStack } from './swarmcast-stack';

const app = new App();
// Whatever account and region the CLI resolved (profile, AWS_REGION): nothing is hard-coded.
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
const fleetFile = app.node.tryGetContext('swarmcast:fleet') as string | undefined;

if (fleetFile) {
  new CoordinatorStack(app, stackNameFromContext(app.node, `${STACK_NAME}Coordinator`), {
    description: 'swarmcast: the coordinator of a fleet, one broadcast over every cell.',
    fleet: parseFleet(readFileSync(fleetFile, 'utf8'), fleetFile),
    env,
  });
} else {
  new SwarmcastStack(app, stackNameFromContext(app.node, STACK_NAME), {
    description: 'swarmcast: broadcast one message to every client of a WebSocket API.',
    // The account quota defaults to the Region's (2,500/s in 13 Regions); the deployer's settings win.
    config: resolveConfig({
      ...accountQuotaDefaultsFor(process.env.CDK_DEFAULT_REGION),
      ...configOverridesFromContext(app.node),
    }),
    pointInTimeRecovery: flagFromContext(app.node, 'swarmcast:pointInTimeRecovery'),
    coordinatorRoleArn: app.node.tryGetContext('swarmcast:coordinatorRoleArn') as string | undefined,
    env,
  });
}

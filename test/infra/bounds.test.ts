import { AWS_LIMITS } from '#commons/aws-limits';
import { DELIVERY_GRACE_SECONDS, MAX_SQS_MESSAGE_BYTES } from '#commons/constants';
import {
  bounds,
  defaultConfig,
  InvalidConfigError,
  maxHistoryEvents,
  resolveConfig,
  type SwarmcastConfig,
} from '../../infra/config';
import { CONNECT_AUTHORIZER_SECRET_MAX_LENGTH } from '../../infra/swarmcast-stack';
import { synthesize, type Synthesized } from './synth';

type Bounded = keyof typeof bounds;
const boundedKeys = Object.keys(bounds) as Bounded[];

/** Every bounded setting at its minimum, then at its maximum (a batch over 10 needs a batching window, which the maximum has). */
const atMinimum = Object.fromEntries(boundedKeys.map((key) => [key, bounds[key][0]])) as Partial<SwarmcastConfig>;
const atMaximum = {
  ...Object.fromEntries(boundedKeys.map((key) => [key, bounds[key][1]])),
  connectAuthorizer: 'examples/connect-authorizer.ts',
  accessLogs: true,
} as Partial<SwarmcastConfig>;

/**
 * The longest value each CloudFormation token can take, for the environment size: generated
 * names are at most 255 characters, Regions 14 (ap-southeast-x) — 20 allowed —, the URL suffix 17
 * (amazonaws.com.cn), account ids 12, API ids 10, the authorizer secret its parameter's MaxLength.
 */
function longestValue(value: unknown): string {
  if (typeof value === 'string') return value;
  const token = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]]; 'Fn::GetAtt'?: unknown };
  if (token.Ref === 'AWS::Region') return 'r'.repeat(20);
  if (token.Ref === 'AWS::URLSuffix') return 'amazonaws.com.cn';
  if (token.Ref === 'AWS::AccountId') return '0'.repeat(12);
  if (token.Ref === 'ConnectAuthorizerSecret') return 's'.repeat(CONNECT_AUTHORIZER_SECRET_MAX_LENGTH);
  if (token.Ref?.startsWith('WebSocketApi')) return 'a'.repeat(10);
  if (token.Ref !== undefined || token['Fn::GetAtt'] !== undefined) return 'n'.repeat(255);
  if (token['Fn::Join']) return token['Fn::Join'][1].map(longestValue).join(token['Fn::Join'][0]);
  throw new Error(`no longest value for ${JSON.stringify(value)}`);
}

const stacks: Record<'every bound at its minimum' | 'every bound at its maximum', Synthesized> = {} as never;

beforeAll(() => {
  stacks['every bound at its minimum'] = synthesize(atMinimum, { bundle: false });
  stacks['every bound at its maximum'] = synthesize(atMaximum, { bundle: false });
}, 180_000);

describe.each([['every bound at its minimum'], ['every bound at its maximum']] as const)('with %s', (name) => {
  test("the stack synthesizes with no unacknowledged cdk-nag finding, under CloudFormation's resource limit", () => {
    const { template } = stacks[name];
    expect(Object.keys(template.toJSON().Resources).length).toBeLessThan(AWS_LIMITS.cloudFormationStackResources.value);
  });

  test('every Lambda environment stays under 4 KB with the longest names AWS can generate', () => {
    const functions = Object.values(stacks[name].template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThanOrEqual(7);
    for (const fn of functions) {
      const variables = Object.fromEntries(
        Object.entries(fn.Properties.Environment.Variables as Record<string, unknown>).map(([key, value]) => [
          key,
          longestValue(value),
        ]),
      );
      expect(Buffer.byteLength(JSON.stringify(variables))).toBeLessThan(AWS_LIMITS.lambdaEnvironmentBytes.value);
    }
  });

  test('shard queues: maxReceiveCount >= 5 and the message size the packer fills', () => {
    const { config, template } = stacks[name];
    const shards = Object.values(template.findResources('AWS::SQS::Queue')).filter(
      (queue) => queue.Properties.RedrivePolicy,
    );
    expect(shards).toHaveLength(config.shards);
    for (const queue of shards) {
      expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(5);
      expect(queue.Properties.MaximumMessageSize).toBe(MAX_SQS_MESSAGE_BYTES);
    }
  });

  test("one execution, a redrive included, stays under Step Functions' history limit", () => {
    expect(maxHistoryEvents(stacks[name].config)).toBeLessThanOrEqual(AWS_LIMITS.stepFunctionsHistoryEvents.value);
  });
});

test('the maximum stack has the $connect authorizer on a REQUEST authorizer reading the token from the query string', () => {
  const { template } = stacks['every bound at its maximum'];
  template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
    AuthorizerType: 'REQUEST',
    IdentitySource: ['route.request.querystring.token'],
  });
  template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$connect', AuthorizationType: 'CUSTOM' });
});

test('configuration validation rejects a poll interval that would pass the history limit, saying what is allowed', () => {
  // (900 s + 60 s of grace) / 1 s: 961 polls per run, two runs, 12 events each.
  expect(() => resolveConfig({ deliveryTimeoutSeconds: 900, progressPollSeconds: 1 })).not.toThrow();
  expect(() => resolveConfig({ deliveryTimeoutSeconds: 86_400, progressPollSeconds: 2 })).toThrow(InvalidConfigError);
  expect(() => resolveConfig({ deliveryTimeoutSeconds: 86_400, progressPollSeconds: 2 })).toThrow(
    /deliveryTimeoutSeconds=86400 and progressPollSeconds=2 allow 1,037,644 history events .* must be at most 1036 \(e\.g\. progressPollSeconds >= 84\)/,
  );
  expect(
    maxHistoryEvents({ deliveryTimeoutSeconds: 1_036 * 84 - DELIVERY_GRACE_SECONDS, progressPollSeconds: 84 }),
  ).toBeLessThanOrEqual(AWS_LIMITS.stepFunctionsHistoryEvents.value);
  expect(maxHistoryEvents(defaultConfig)).toBeLessThanOrEqual(AWS_LIMITS.stepFunctionsHistoryEvents.value);
});

test('settings AWS would reject at deploy or run time are refused at synth, by name', () => {
  expect(() => resolveConfig({ maxReceiveCount: 4 })).toThrow(/maxReceiveCount=4 must be an integer from 5 to 1000/);
  expect(() => resolveConfig({ shards: 51 })).toThrow(/shards=51 must be an integer from 1 to 50/);
  expect(() => resolveConfig({ connectAuthorizer: 'examples/' })).toThrow(
    /connectAuthorizer="examples\/" must be the path of a \.ts or \.js handler file/,
  );
  expect(resolveConfig({ connectAuthorizer: 'examples/connect-authorizer.ts' }).connectAuthorizer).toBe(
    'examples/connect-authorizer.ts',
  );
});

test('run-time guards: vended state machine logs, stage access logs and throttling, reserved concurrency for the routes', () => {
  const { config, stack, template } = stacks['every bound at its maximum'];
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const logGroups = Object.values(resources).filter((resource) => resource.Type === 'AWS::Logs::LogGroup');
  expect(logGroups.map((group) => group.Properties.LogGroupName)).toContain(
    '/aws/vendedlogs/states/Swarmcast-broadcast',
  );
  const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
  expect(stage.Properties).toMatchObject({
    AccessLogSettings: {
      DestinationArn: { 'Fn::GetAtt': [expect.stringMatching(/^WebSocketAccessLogs/), 'Arn'] },
      Format: expect.stringContaining('"connectionId":"$context.connectionId"'),
    },
    DefaultRouteSettings: {
      ThrottlingRateLimit: config.routeThrottleRatePerSecond,
      ThrottlingBurstLimit: config.routeThrottleBurst,
    },
  });
  for (const id of ['Connect', 'Disconnect', 'ConnectAuthorizer']) {
    const fn = Object.entries(resources).find(
      ([logicalId, resource]) =>
        resource.Type === 'AWS::Lambda::Function' &&
        logicalId.startsWith(id) &&
        !logicalId.startsWith(`${id}Authorizer`),
    );
    expect(fn?.[1].Properties.ReservedConcurrentExecutions).toBe(config.routeReservedConcurrency);
  }
  expect(stack.stackName).toBe('Swarmcast');
});

test('a new account deploys the minimum: no access logs (no account CloudWatch role needed), no reserved concurrency', () => {
  const { config, template } = stacks['every bound at its minimum'];
  expect(config).toMatchObject({ accessLogs: false, routeReservedConcurrency: 0 });
  const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
  expect(stage.Properties.AccessLogSettings).toBeUndefined();
  expect(
    Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((id) => id.startsWith('WebSocketAccessLogs')),
  ).toEqual([]);
  for (const { Properties: fn } of Object.values(template.findResources('AWS::Lambda::Function'))) {
    expect(fn.ReservedConcurrentExecutions).toBeUndefined();
  }
});

test('the account quota is a setting at its edges, and the budget follows it unless set', () => {
  expect(stacks['every bound at its minimum'].config).toMatchObject({
    accountQuotaRatePerSecond: bounds.accountQuotaRatePerSecond[0],
    accountQuotaBurst: bounds.accountQuotaBurst[0],
  });
  expect(stacks['every bound at its maximum'].config).toMatchObject({
    accountQuotaRatePerSecond: bounds.accountQuotaRatePerSecond[1],
    accountQuotaBurst: bounds.accountQuotaBurst[1],
  });
  expect(resolveConfig({ accountQuotaRatePerSecond: 2_500, accountQuotaBurst: 1_250 })).toMatchObject({
    deliveryRatePerSecond: 2_250,
  });
  expect(() => resolveConfig({ accountQuotaRatePerSecond: 0 })).toThrow(
    /accountQuotaRatePerSecond=0 must be an integer from 1 to 1000000/,
  );
});

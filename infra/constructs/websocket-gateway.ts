/** The CDK construct of the WebSocket API: its routes, the optional $connect authorizer, and its stage. */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration, WebSocketMockIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { KEEP_ALIVE_ROUTE, ROUTE_SELECTION_KEY, SUBSCRIPTION_ROUTES } from '../../client/protocol';
import type { WebSocketRoute } from '../../functions/catalog';

export interface WebSocketGatewayProps {
  stageName: string;
  /**
   * The function behind each route (functions/catalog.ts): $connect registers the socket in a
   * partition, $disconnect removes it (best effort: API Gateway does not guarantee it runs),
   * $default takes every other client message (the old keep-alive "ping" is answered with "pong"),
   * subscribe and unsubscribe join or leave a channel and answer on the socket.
   */
  routes: Partial<Record<WebSocketRoute, IFunction>>;
  /** A Lambda REQUEST authorizer run before $connect; without one anyone who knows the URL connects. */
  connectAuthorizer?: IFunction;
  /** Stage default route throttling, over all clients together (the keep-alive route included). */
  throttle: { rateLimit: number; burstLimit: number };
  /** JSON access logs; API Gateway writes them only once the account's API Gateway CloudWatch role is set. */
  accessLogs: boolean;
}

/** The API Gateway WebSocket API the clients connect to, and its one auto-deployed stage. */
export class WebSocketGateway extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;

  constructor(scope: Construct, id: string, props: WebSocketGatewayProps) {
    super(scope, id);
    const route = (key: WebSocketRoute): IFunction => {
      const fn = props.routes[key];
      if (!fn)
        throw new Error(
          `the WebSocket API needs a function for ${key}: give one a route trigger in functions/catalog.ts`,
        );
      return fn;
    };
    // Integration ids avoid the word "Default", which CDK drops from logical ids (it collided with the route's).
    this.api = new WebSocketApi(this, 'Api', {
      description: 'swarmcast: clients connect here; broadcasts reach them through the @connections API.',
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('ConnectIntegration', route('$connect')),
        // The token travels in the query string: browsers cannot set headers on a WebSocket.
        authorizer:
          props.connectAuthorizer &&
          new WebSocketLambdaAuthorizer('ConnectAuthorizer', props.connectAuthorizer, {
            identitySource: ['route.request.querystring.token'],
          }),
      },
      disconnectRouteOptions: {
        integration: new WebSocketLambdaIntegration('DisconnectIntegration', route('$disconnect')),
      },
      routeSelectionExpression: `$request.body.${ROUTE_SELECTION_KEY}`,
      // returnResponse: the handler's return value goes back to the client ("pong").
      defaultRouteOptions: {
        integration: new WebSocketLambdaIntegration('DefaultRouteIntegration', route('$default')),
        returnResponse: true,
      },
    });
    // The keep-alive route: API Gateway answers {"action":"ping"} itself. A MOCK integration needs
    // its status code from a request template; without returnResponse nothing goes back.
    this.api.addRoute(KEEP_ALIVE_ROUTE, {
      integration: new WebSocketMockIntegration('KeepAliveIntegration', {
        requestTemplates: { $default: JSON.stringify({ statusCode: 200 }) },
        templateSelectionExpression: '\\$default',
      }),
    });
    // One route per action, one function for both; returnResponse sends its answer back to the client.
    const subscriptions = new WebSocketLambdaIntegration('SubscriptionsIntegration', route('subscribe'));
    for (const key of SUBSCRIPTION_ROUTES) {
      if (route(key) !== route('subscribe'))
        throw new Error(
          `${key} and subscribe must be one function (functions/catalog.ts): one integration serves both`,
        );
      this.api.addRoute(key, { integration: subscriptions, returnResponse: true });
    }
    // Access logs need the account's API Gateway CloudWatch role, an account-wide singleton the
    // stack does not own (docs/configuration.md, "Settings that depend on the account"): opt-in.
    const accessLogs = props.accessLogs
      ? new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY })
      : undefined;
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName,
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: accessLogs && {
        destination: new LogGroupLogDestination(accessLogs),
        format: accessLogFormat(),
      },
    });
    if (!accessLogs) {
      for (const id of ['AwsSolutions::AwsSolutions-APIG1', 'Serverless::Serverless-APIGWAccessLogging']) {
        Validations.of(this.stage).acknowledge({
          id,
          reason:
            'accessLogs is off (the default): a new account has no API Gateway CloudWatch role, which access logs need; set accessLogs=true once it has one (docs/configuration.md, "Settings that depend on the account").',
        });
      }
    }
    if (!props.connectAuthorizer) {
      Validations.of(this.api.node.findChild('$connect-Route')).acknowledge({
        id: 'AwsSolutions::AwsSolutions-APIG4',
        reason:
          'No connectAuthorizer configured: anyone who knows the URL may connect and receive broadcasts (docs/operations.md, "Who may connect").',
      });
    }
    for (const route of [
      '$disconnect-Route',
      '$default-Route',
      `${KEEP_ALIVE_ROUTE}-Route`,
      ...SUBSCRIPTION_ROUTES.map((action) => `${action}-Route`),
    ]) {
      Validations.of(this.api.node.findChild(route)).acknowledge({
        id: 'AwsSolutions::AwsSolutions-APIG4',
        reason: 'API Gateway authorizes a WebSocket client once, at $connect; other routes take no authorizer.',
      });
    }
  }

  /** wss:// URL clients connect to. */
  get url(): string {
    return this.stage.url;
  }

  /** https://{apiId}.execute-api.{region}.amazonaws.com/{stage}: the @connections management API base. */
  get connectionsEndpoint(): string {
    return this.stage.callbackUrl;
  }
}

/** One JSON object per request, so CloudWatch Logs Insights can query the fields. */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      connectionId: '$context.connectionId',
      routeKey: '$context.routeKey',
      eventType: '$context.eventType',
      status: '$context.status',
      integrationStatus: '$context.integrationStatus',
      error: '$context.error.message',
      authorizerError: '$context.authorizer.error',
      sourceIp: '$context.identity.sourceIp',
      requestTime: '$context.requestTimeEpoch',
    }),
  );
}

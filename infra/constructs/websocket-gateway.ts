/** The CDK construct of the WebSocket API: its routes, the optional $connect authorizer, and its stage. */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface WebSocketGatewayProps {
  stageName: string;
  /** $connect: registers the socket in a partition. */
  connect: IFunction;
  /** $disconnect: removes it (best effort: API Gateway does not guarantee this route runs). */
  disconnect: IFunction;
  /** $default: every other client message ("ping" is answered with "pong"). */
  defaultRoute: IFunction;
  /** A Lambda REQUEST authorizer run before $connect; without one anyone who knows the URL connects. */
  connectAuthorizer?: IFunction;
  /** Stage default route throttling, over all clients together. */
  throttle: { rateLimit: number; burstLimit: number };
}

/** The API Gateway WebSocket API the clients connect to, and its one auto-deployed stage. */
export class WebSocketGateway extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;

  constructor(scope: Construct, id: string, props: WebSocketGatewayProps) {
    super(scope, id);
    // Integration ids avoid the word "Default", which CDK drops from logical ids (it collided with the route's).
    this.api = new WebSocketApi(this, 'Api', {
      description: 'swarmcast: clients connect here; broadcasts reach them through the @connections API.',
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('ConnectIntegration', props.connect),
        // The token travels in the query string: browsers cannot set headers on a WebSocket.
        authorizer: props.connectAuthorizer && new WebSocketLambdaAuthorizer('ConnectAuthorizer', props.connectAuthorizer, { identitySource: ['route.request.querystring.token'] }),
      },
      disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('DisconnectIntegration', props.disconnect) },
      // returnResponse: the handler's return value goes back to the client ("pong").
      defaultRouteOptions: { integration: new WebSocketLambdaIntegration('DefaultRouteIntegration', props.defaultRoute), returnResponse: true },
    });
    // Access logs need the account's API Gateway CloudWatch role (README, "On AWS").
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName,
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: accessLogFormat() },
    });
    if (!props.connectAuthorizer) {
      Validations.of(this.api.node.findChild('$connect-Route')).acknowledge({
        id: 'AwsSolutions::AwsSolutions-APIG4',
        reason: 'No connectAuthorizer configured: anyone who knows the URL may connect and receive broadcasts (README, "Who may connect").',
      });
    }
    for (const route of ['$disconnect-Route', '$default-Route']) {
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

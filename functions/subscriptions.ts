/**
 * The WebSocket API's subscribe and unsubscribe routes (one function for both): a client joins or
 * leaves a channel with {"action":"subscribe","channel":"a"} and gets a short JSON answer through
 * the route response: {"action":"subscribe","channel":"a","ok":true}, or "ok":false and "error".
 */
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { InvalidChannelError, parseChannelName } from '#commons/channels';
import { ENV } from '#commons/environment';
import { getStringFromEnv } from '#commons/helpers/env';
import { subscribe, type SubscriptionOutcome, unsubscribe } from '#commons/memberships';
import { readSettings } from '#commons/settings';
import { SUBSCRIPTION_ROUTES, type SubscriptionRoute } from '../client/protocol';

const read = readSettings(['partitions', 'channelPartitions', 'maxChannelsPerConnection']);
const settings = {
  connections: getStringFromEnv(ENV.connectionsTable),
  memberships: { subscriptions: getStringFromEnv(ENV.subscriptionsTable), channelPartitions: read.channelPartitions },
  partitionCount: read.partitions,
  maxChannelsPerConnection: read.maxChannelsPerConnection,
};

/** Parses the message, runs the action, answers. A DynamoDB failure is the one thing that throws (API Gateway answers "Internal server error"). */
export const handler = async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> => {
  const request = parseRequest(event.body);
  if ('error' in request) return answer({ ok: false, error: request.error });
  const { action, channel } = request;
  const run = action === 'subscribe' ? subscribe : unsubscribe;
  const outcome = await run(settings, event.requestContext.connectionId, channel);
  return answer({ action, channel, ...outcome });
};

function parseRequest(body: string | undefined): { action: SubscriptionRoute; channel: string } | { error: string } {
  let message: Record<string, unknown>;
  try {
    message = JSON.parse(body ?? '');
  } catch {
    return { error: 'the message must be JSON: {"action":"subscribe","channel":"name"}' };
  }
  const action = message?.action as SubscriptionRoute;
  if (!SUBSCRIPTION_ROUTES.includes(action)) {
    return { error: `"action" must be "subscribe" or "unsubscribe", not ${JSON.stringify(message?.action)}` };
  }
  try {
    return { action, channel: parseChannelName(message.channel, '"channel"') };
  } catch (error) {
    if (error instanceof InvalidChannelError) return { error: error.message };
    throw error;
  }
}

function answer(body: (SubscriptionOutcome & { action?: string; channel?: string }) | SubscriptionOutcome) {
  return { statusCode: 200, body: JSON.stringify(body) };
}

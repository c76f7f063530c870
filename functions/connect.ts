/** The WebSocket API's $connect route: each new socket gets a row in a partition, where broadcasts find it. */
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { firstDisallowed, InvalidChannelError, parseAllowedChannels, parseChannelList } from '#commons/channels';
import { registerConnection } from '#commons/connections';
import { ENV } from '#commons/environment';
import { getStringFromEnv } from '#commons/helpers/env';
import { recordConnect, withMetrics } from '#commons/helpers/metrics';
import { readSettings } from '#commons/settings';

const settings = readSettings(['partitions', 'connectionTtlSeconds', 'channelPartitions', 'maxChannelsPerConnection']);
const tables = {
  connections: getStringFromEnv(ENV.connectionsTable),
  memberships: {
    subscriptions: getStringFromEnv(ENV.subscriptionsTable),
    channelPartitions: settings.channelPartitions,
  },
};
const {
  partitions: partitionCount,
  connectionTtlSeconds: ttlSeconds,
  maxChannelsPerConnection: maxChannels,
} = settings;

/** What API Gateway passes from the $connect authorizer's context (docs/channels.md: allowedChannels). */
type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  queryStringParameters?: Record<string, string | undefined>;
  requestContext: { authorizer?: Record<string, unknown> };
};

/**
 * $connect: one PutItem, in the partition the connection id hashes to; `?channels=a,b` adds one
 * membership per channel. A bad channel list refuses the connection (400, the reason in the body)
 * before anything is written.
 */
export const handler = async (event: ConnectEvent): Promise<APIGatewayProxyResult> =>
  withMetrics(async () => {
    let channels: string[];
    let allowedChannels: string[] | undefined;
    try {
      channels = parseChannelList(event.queryStringParameters?.channels, maxChannels);
      allowedChannels = parseAllowedChannels(event.requestContext.authorizer?.allowedChannels);
      const refused = firstDisallowed(channels, allowedChannels);
      if (refused !== undefined)
        throw new InvalidChannelError(`the authorizer does not let this connection join "${refused}"`);
    } catch (error) {
      if (error instanceof InvalidChannelError) return { statusCode: 400, body: error.message };
      throw error;
    }
    await registerConnection(tables, {
      connectionId: event.requestContext.connectionId,
      partitionCount,
      ttlSeconds,
      channels,
      allowedChannels,
    });
    recordConnect();
    return { statusCode: 200, body: '' };
  });

/**
 * The WebSocket API's $disconnect route: a closed socket leaves its partition and its channels, so
 * broadcasts stop posting to it.
 */
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { unregisterConnection } from '#commons/connections';
import { ENV } from '#commons/environment';
import { getStringFromEnv } from '#commons/helpers/env';
import { readSettings } from '#commons/settings';

const settings = readSettings(['partitions', 'channelPartitions']);
const tables = {
  connections: getStringFromEnv(ENV.connectionsTable),
  memberships: {
    subscriptions: getStringFromEnv(ENV.subscriptionsTable),
    channelPartitions: settings.channelPartitions,
  },
};
const partitionCount = settings.partitions;

/** $disconnect (best effort on AWS: the sweep catches the ones it misses). */
export const handler = async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> => {
  await unregisterConnection(tables, event.requestContext.connectionId, partitionCount);
  return { statusCode: 200, body: '' };
};

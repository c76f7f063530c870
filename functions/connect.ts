/** The WebSocket API's $connect route: each new socket gets a row in a partition, where broadcasts find it. */
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { registerConnection } from '#commons/connections';
import { ENV } from '#commons/environment';
import { getStringFromEnv } from '#commons/helpers/env';
import { recordConnect, withMetrics } from '#commons/helpers/metrics';
import { readSettings } from '#commons/settings';

const tables = { connections: getStringFromEnv(ENV.connectionsTable) };
const { partitions: partitionCount, connectionTtlSeconds: ttlSeconds } = readSettings([
  'partitions',
  'connectionTtlSeconds',
]);

/** $connect: one PutItem, in the partition the connection id hashes to. */
export const handler = async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> =>
  withMetrics(async () => {
    await registerConnection(tables, { connectionId: event.requestContext.connectionId, partitionCount, ttlSeconds });
    recordConnect();
    return { statusCode: 200, body: '' };
  });

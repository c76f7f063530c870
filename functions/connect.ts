/** The WebSocket API's $connect route: each new socket gets a row in a partition, where broadcasts find it. */
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { registerConnection } from '#commons/connections';
import { ENV } from '#commons/environment';
import { getIntegerFromEnv, getStringFromEnv } from '#commons/helpers/env';
import { recordConnect, withMetrics } from '#commons/helpers/metrics';

const tables = { connections: getStringFromEnv(ENV.connectionsTable) };
const partitionCount = getIntegerFromEnv(ENV.partitionCount, { min: 1 });
const ttlSeconds = getIntegerFromEnv(ENV.connectionTtlSeconds, { min: 60 });

/** $connect: one PutItem, in the partition the connection id hashes to. */
export const handler = async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> =>
  withMetrics(async () => {
    await registerConnection(tables, { connectionId: event.requestContext.connectionId, partitionCount, ttlSeconds });
    recordConnect();
    return { statusCode: 200, body: '' };
  });

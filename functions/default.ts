/** The WebSocket API's $default route: every client message that selects no other route. */
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';

/**
 * $default: answers the text "ping" with "pong" through the route response, for clients written
 * before the keep-alive route; anything else is ignored. New clients send {"action":"ping"},
 * which API Gateway answers itself (client/protocol.ts): no Lambda, no reply.
 */
export const handler = async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> => {
  if (event.body?.trim() === 'ping') return { statusCode: 200, body: 'pong' };
  return { statusCode: 200, body: '' };
};

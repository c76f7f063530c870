/** The WebSocket API's $default route: every message a client sends. */
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';

/**
 * $default: answers a client's "ping" with "pong" through the route response, so clients
 * can keep a socket under the 10-minute idle timeout; anything else is ignored.
 */
export const handler = async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> => {
  if (event.body?.trim() === 'ping') return { statusCode: 200, body: 'pong' };
  return { statusCode: 200, body: '' };
};

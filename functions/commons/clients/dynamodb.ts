/**
 * The handlers' DynamoDB clients: one for their tables, and one of its own for the delivery
 * budget's lease.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Created once per container; the endpoint comes from AWS_ENDPOINT_URL_DYNAMODB when set
 * (local stack). More sockets than the SDK's default 50: a consumer removes gone
 * connections and a map child queries partitions with many calls in flight.
 */
export const dynamoDb = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets: 256 },
      httpsAgent: { keepAlive: true, maxSockets: 256 },
    },
  }),
  { marshallOptions: { removeUndefinedValues: true } },
);

/**
 * The delivery budget's own client: a lease write must not wait for a socket behind a burst of
 * the handler's other calls (on the local stack, every handler shares one process and its pool).
 */
export const budgetDynamoDb = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: 16 }, httpsAgent: { keepAlive: true, maxSockets: 16 } },
  }),
);

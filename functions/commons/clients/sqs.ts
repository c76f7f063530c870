/** The handlers' SQS client, which sends delivery tasks to the shard queues. */
import { SQSClient } from '@aws-sdk/client-sqs';

/** Created once per container; the endpoint comes from AWS_ENDPOINT_URL_SQS when set (local stack). */
export const sqs = new SQSClient({
  requestHandler: { httpAgent: { keepAlive: true, maxSockets: 256 }, httpsAgent: { keepAlive: true, maxSockets: 256 } },
});

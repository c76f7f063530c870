/**
 * Local SQS: local-aws-sqs as a child process (its CPU off the stack's event loop, like dynalite),
 * with one queue per shard, each redriving to its own DLQ like the CDK stack. In memory only: a
 * restart starts with empty queues.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import path from 'node:path';
import { forkServer } from '../child-server';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local-account';

export interface LocalSqsOptions {
  shards: number;
  /** Receives of one message before SQS moves it to the shard's DLQ. */
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  region?: string;
}

export interface LocalSqs {
  /** http://127.0.0.1:<port>, for AWS_ENDPOINT_URL_SQS. */
  endpoint: string;
  /** Shard k is shardQueueUrls[k] (queue `swarmcast-shard-<k>`), as SHARD_QUEUE_URLS lists them. */
  shardQueueUrls: string[];
  /** dlqUrls[k] is the DLQ of shard k (`swarmcast-shard-<k>-dlq`). */
  dlqUrls: string[];
  stop(): Promise<void>;
  /** Settles, saying how, if local-aws-sqs ends without being stopped. */
  died: Promise<string>;
  /** The process id of local-aws-sqs's child process. */
  pid: number;
}

/** What AWS allows at most, so a DLQ keeps failed messages for inspection. */
const DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60;

export async function startSqs({
  shards,
  maxReceiveCount,
  visibilityTimeoutSeconds,
  region = LOCAL_REGION,
}: LocalSqsOptions): Promise<LocalSqs> {
  const server = await forkServer(path.join(__dirname, 'sqs-server-process.ts'), { region, accountId: LOCAL_ACCOUNT });
  const client = new SQSClient({ endpoint: server.endpoint, region, credentials: LOCAL_CREDENTIALS });
  try {
    const queues = await Promise.all(
      Array.from({ length: shards }, (_, shard) =>
        createShardQueue(client, `swarmcast-shard-${shard}`, maxReceiveCount, visibilityTimeoutSeconds),
      ),
    );
    return {
      endpoint: server.endpoint,
      shardQueueUrls: queues.map((queue) => queue.queueUrl),
      dlqUrls: queues.map((queue) => queue.dlqUrl),
      stop: server.stop,
      died: server.died,
      pid: server.pid,
    };
  } catch (error) {
    await server.stop();
    throw error;
  } finally {
    client.destroy();
  }
}

async function createShardQueue(
  client: SQSClient,
  queueName: string,
  maxReceiveCount: number,
  visibilityTimeoutSeconds: number,
) {
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: `${queueName}-dlq`,
      Attributes: { MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS) },
    }),
  );
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: queueName,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}

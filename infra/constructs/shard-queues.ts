/**
 * The CDK construct of the shard queues, their dead-letter queues, and the consumer's event
 * sources on them.
 */
import { Aws, Duration, Fn, Stack, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MAX_SQS_MESSAGE_BYTES } from '#commons/constants';
import { shardQueueUrl } from '#commons/shard-queues';
import { InvalidConfigError } from '../config';

/** SQS queue names are at most 80 characters. */
const MAX_QUEUE_NAME_LENGTH = 80;

export interface ShardQueuesProps {
  /** Number of shard queues. */
  shards: number;
  /** Receives of one message before it moves to its shard's dead-letter queue. */
  maxReceiveCount: number;
  /** Timeout of the consumer function, which sets the visibility timeout. */
  consumerTimeout: Duration;
  /** Batching window of the event source; a message stays invisible during it too. */
  batchingWindow: Duration;
}

export interface ShardConsumerOptions {
  batchSize: number;
  maxBatchingWindow: Duration;
  maxConcurrency: number;
}

/**
 * The S shard queues between the fan-out and the delivery: shard k is `queues[k]`, named
 * `<stack>-shard-<k>` so its URL is `urlPrefix` + k, each with its own dead-letter queue so a
 * poisoned message is traced to its shard.
 */
export class ShardQueues extends Construct {
  readonly queues: Queue[] = [];
  readonly deadLetterQueues: Queue[] = [];
  /** Shard k's URL is this + k (SHARD_QUEUE_URL_PREFIX). */
  readonly urlPrefix: string;

  constructor(scope: Construct, id: string, props: ShardQueuesProps) {
    super(scope, id);
    const namePrefix = `${Stack.of(this).stackName}-shard-`;
    const longestName = `${shardQueueUrl(namePrefix, props.shards - 1)}-dlq`;
    if (longestName.length > MAX_QUEUE_NAME_LENGTH) {
      throw new InvalidConfigError(
        `stack name ${Stack.of(this).stackName} is too long: queue name ${longestName} passes SQS's ${MAX_QUEUE_NAME_LENGTH} characters`,
      );
    }
    this.urlPrefix = Fn.join('', [
      'https://sqs.',
      Aws.REGION,
      '.',
      Aws.URL_SUFFIX,
      '/',
      Aws.ACCOUNT_ID,
      '/',
      namePrefix,
    ]);
    // AWS: visibility timeout at least 6x the function timeout plus the batching window, so a
    // message throttled and retried by the poller is not received again while still in flight.
    const visibilityTimeout = Duration.seconds(
      6 * props.consumerTimeout.toSeconds() + props.batchingWindow.toSeconds(),
    );
    for (let shard = 0; shard < props.shards; shard++) {
      const deadLetterQueue = new Queue(this, `Shard${shard}Dlq`, {
        queueName: `${shardQueueUrl(namePrefix, shard)}-dlq`,
        retentionPeriod: Duration.days(14),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      const queue = new Queue(this, `Shard${shard}`, {
        queueName: shardQueueUrl(namePrefix, shard),
        visibilityTimeout,
        // What the packer fills a delivery task up to (connectionIdsPerMessage is bounded by it).
        maxMessageSizeBytes: MAX_SQS_MESSAGE_BYTES,
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      });
      Validations.of(deadLetterQueue).acknowledge({
        id: 'Serverless::Serverless-SQSRedrivePolicy',
        reason: 'A dead-letter queue is where failed messages end: it has no DLQ of its own.',
      });
      this.deadLetterQueues.push(deadLetterQueue);
      this.queues.push(queue);
    }
  }

  /** One event source mapping per shard queue on the same consumer, reporting partial batch failures. */
  addConsumer(consumer: IFunction, options: ShardConsumerOptions): void {
    for (const queue of this.queues) {
      consumer.addEventSource(
        new SqsEventSource(queue, {
          batchSize: options.batchSize,
          // Zero means "deliver as soon as messages arrive": leave the property unset.
          maxBatchingWindow: options.maxBatchingWindow.toSeconds() > 0 ? options.maxBatchingWindow : undefined,
          maxConcurrency: options.maxConcurrency,
          // Only the failed messages of a batch return to the queue, never the delivered ones.
          reportBatchItemFailures: true,
        }),
      );
    }
    Validations.of(consumer).acknowledge({
      id: 'Serverless::Serverless-LambdaEventSourceMappingDestination',
      reason:
        "SQS event sources take no on-failure destination (streams and Kafka do): a failed message returns to its queue and, after maxReceiveCount, goes to the shard's DLQ.",
    });
  }
}

/**
 * Lambda's SQS event source mapping, locally: one mapping per queue polls it with the real
 * SQS client, hands batches to the handler (the local Lambda runtime's post-message) with at
 * most `maximumConcurrency` invocations in flight, deletes what succeeded and leaves the rest to
 * reappear after the visibility timeout, so SQS counts receives and redrives to the DLQ as on AWS.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
  type QueueAttributeName,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_SQS_BATCH_ENTRIES } from '#commons/constants';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local-account';
import { lambdaContext } from '../lambda/context';
import { toSqsRecord } from './lambda-sqs-event';
import { RepeatedErrorLog } from '../repeated-errors';

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface EventSourceOptions {
  queueUrls: string[];
  handler: SqsBatchHandler;
  /** Messages per invocation at most (BatchSize). */
  batchSize: number;
  /** MaximumBatchingWindowInSeconds: how long to gather a batch; 0 = invoke with what one receive brings. */
  batchingWindowSeconds: number;
  /** MaximumConcurrency: invocations in flight per queue at most. */
  maximumConcurrency: number;
  sqsEndpoint: string;
  /** Names the function in the Context; default swarmcast-post-message. */
  functionName?: string;
  /** Only sets the Context's getRemainingTimeInMillis clock; nothing is cut off. Default 60. */
  functionTimeoutSeconds?: number;
  region?: string;
  /** Where a handler's thrown error goes (Lambda would log it); default console.error. */
  onHandlerError?: (error: unknown, event: SQSEvent) => void;
}

export interface EventSourceStats {
  invocations: number;
  /** Messages handed to the handler (a redelivered message counts again). */
  messages: number;
  /** Messages the handler succeeded on, deleted from their queue. */
  deleted: number;
  /** Messages left for redelivery: reported in batchItemFailures, or in a batch whose invocation threw. */
  failed: number;
  /** Invocations that threw or answered with an invalid batchItemFailures. */
  failedInvocations: number;
  /** Successful messages SQS refused to delete (DeleteMessageBatch Failed[]): they will be delivered again. */
  deleteFailures: number;
  inFlightInvocations: number;
}

export interface EventSource {
  /** Stops polling, then waits for the invocations in flight and their deletes. */
  stop(): Promise<void>;
  stats(): EventSourceStats;
  /** True when nothing is being handled and every queue is empty (no visible, in-flight or delayed messages). */
  idle(): Promise<boolean>;
}

/** Polling an empty queue backs off from the first to the second, so ten idle shards cost ~100 requests/s. */
const IDLE_POLL_MS = [5, 100] as const;

export async function startEventSource(options: EventSourceOptions): Promise<EventSource> {
  const region = options.region ?? LOCAL_REGION;
  // One receive and one delete per invocation in flight, on every queue: more sockets than the SDK's default 50.
  const client = new SQSClient({
    endpoint: options.sqsEndpoint,
    region,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets: 2 * options.queueUrls.length * options.maximumConcurrency },
    },
  });
  const stats: EventSourceStats = {
    invocations: 0,
    messages: 0,
    deleted: 0,
    failed: 0,
    failedInvocations: 0,
    deleteFailures: 0,
    inFlightInvocations: 0,
  };
  const stopping = new AbortController();
  // One line per kind of failure for all the shards: a dead SQS fails every poll of every queue.
  const errors = new RepeatedErrorLog();
  let mappings: QueueMapping[];
  try {
    mappings = await Promise.all(
      options.queueUrls.map(async (queueUrl) => {
        const { Attributes } = await client.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
        );
        return new QueueMapping({
          ...options,
          region,
          client,
          queueUrl,
          queueArn: Attributes!.QueueArn!,
          stats,
          stopping: stopping.signal,
          errors,
        });
      }),
    );
  } catch (error) {
    client.destroy();
    throw error;
  }
  const polling = mappings.map((mapping) => mapping.poll());

  return {
    async stop() {
      stopping.abort();
      await Promise.all(polling);
      await Promise.all(mappings.map((mapping) => mapping.drain()));
      client.destroy();
    },
    stats: () => ({ ...stats }),
    async idle() {
      if (stats.inFlightInvocations > 0 || mappings.some((mapping) => mapping.holdsMessages())) return false;
      const queues = await Promise.all(
        options.queueUrls.map((queueUrl) =>
          client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: QUEUE_DEPTH_ATTRIBUTES })),
        ),
      );
      return queues.every(({ Attributes }) => QUEUE_DEPTH_ATTRIBUTES.every((name) => Attributes?.[name] === '0'));
    },
  };
}

const QUEUE_DEPTH_ATTRIBUTES: QueueAttributeName[] = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
];

interface QueueMappingOptions extends EventSourceOptions {
  region: string;
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  stats: EventSourceStats;
  stopping: AbortSignal;
  errors: RepeatedErrorLog;
}

/** A poll that failed waits this long before the next: no use asking a dead service 80 times a second. */
const FAILED_POLL_PAUSE_MS = 1_000;
const RECEIVE_FAILED = 'local event source: ReceiveMessage failed on the shard queues; polling on';

/** One event source mapping: one queue, one poll loop, its own concurrency limit. */
class QueueMapping {
  private readonly invocations = new Set<Promise<void>>();
  /** Received, not yet handed to an invocation. */
  private gathered = 0;
  private idlePollMs: number = IDLE_POLL_MS[0];
  private receiveFailing = false;

  constructor(private readonly options: QueueMappingOptions) {}

  async poll(): Promise<void> {
    const { maximumConcurrency, stopping } = this.options;
    while (!stopping.aborted) {
      // Receive only with a free slot: a received message's visibility timeout is already running.
      if (this.invocations.size >= maximumConcurrency) {
        await Promise.race(this.invocations);
        continue;
      }
      const batch = await this.gatherBatch();
      if (batch.length === 0) {
        await this.sleepWhileIdle();
        continue;
      }
      this.idlePollMs = IDLE_POLL_MS[0];
      const invocation = this.invoke(batch).finally(() => this.invocations.delete(invocation));
      this.invocations.add(invocation);
      this.gathered = 0;
    }
  }

  async drain(): Promise<void> {
    await Promise.all(this.invocations);
  }

  /** Work in progress: invocations, and messages received but not yet handed to one. */
  holdsMessages(): boolean {
    return this.gathered > 0 || this.invocations.size > 0;
  }

  private async gatherBatch(): Promise<Message[]> {
    const { batchSize, batchingWindowSeconds, stopping } = this.options;
    const windowEnds = Date.now() + batchingWindowSeconds * 1000;
    const batch: Message[] = [];
    while (batch.length < batchSize) {
      const wanted = Math.min(MAX_SQS_BATCH_ENTRIES, batchSize - batch.length);
      const received = await this.receive(wanted);
      batch.push(...received);
      this.gathered = batch.length;
      // Without a window, a batch is what the queue has right now; a short receive means it is drained.
      if (batchingWindowSeconds === 0 && received.length < wanted) break;
      if (Date.now() >= windowEnds || stopping.aborted) break;
      if (received.length === 0) await this.sleepWhileIdle(windowEnds - Date.now());
    }
    return batch;
  }

  private async receive(maxMessages: number): Promise<Message[]> {
    const { client, queueUrl } = this.options;
    try {
      const { Messages } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: maxMessages,
          // local-aws-sqs holds a long poll for its full wait when MaxNumberOfMessages > 1, so no long poll.
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          // local-aws-sqs only reads the older name of the same parameter.
          AttributeNames: ['All'] as QueueAttributeName[],
          MessageAttributeNames: ['All'],
        }),
      );
      if (this.receiveFailing) {
        this.receiveFailing = false;
        this.options.errors.resolved(RECEIVE_FAILED);
      }
      return Messages ?? [];
    } catch (error) {
      if (this.options.stopping.aborted) return [];
      this.receiveFailing = true;
      this.options.errors.report(RECEIVE_FAILED, error);
      await sleep(FAILED_POLL_PAUSE_MS, undefined, { signal: this.options.stopping }).catch(() => undefined);
      return [];
    }
  }

  private async sleepWhileIdle(atMostMs = Number.POSITIVE_INFINITY): Promise<void> {
    const ms = Math.max(0, Math.min(this.idlePollMs, atMostMs));
    this.idlePollMs = Math.min(this.idlePollMs * 2, IDLE_POLL_MS[1]);
    await sleep(ms, undefined, { signal: this.options.stopping }).catch(() => undefined);
  }

  /** Never rejects: every outcome is counted in stats. */
  private async invoke(batch: Message[]): Promise<void> {
    const { stats } = this.options;
    stats.invocations++;
    stats.messages += batch.length;
    stats.inFlightInvocations++;
    try {
      const failedIds = await this.runHandler(batch);
      stats.failed += failedIds.size;
      await this.deleteMessages(batch.filter((message) => !failedIds.has(message.MessageId!)));
    } finally {
      stats.inFlightInvocations--;
    }
  }

  /** The messageIds to leave on the queue, read from the response by Lambda's rules. */
  private async runHandler(batch: Message[]): Promise<Set<string>> {
    const {
      handler,
      queueArn,
      functionName = 'swarmcast-post-message',
      functionTimeoutSeconds = 60,
      region,
      onHandlerError = console.error,
    } = this.options;
    const everyMessage = new Set(batch.map((message) => message.MessageId!));
    const event: SQSEvent = { Records: [] };
    try {
      event.Records = batch.map((message) => toSqsRecord(message, queueArn, region));
      const context = lambdaContext({ functionName, region, timeoutSeconds: functionTimeoutSeconds });
      const response = await handler(event, context);
      const failures = response?.batchItemFailures ?? [];
      // Lambda fails the whole batch when an identifier is empty or names no message of the batch.
      if (failures.some(({ itemIdentifier }) => !everyMessage.has(itemIdentifier))) {
        throw new InvalidBatchResponseError(
          `batchItemFailures names messages not in the batch: ${JSON.stringify(failures)}`,
        );
      }
      return new Set(failures.map(({ itemIdentifier }) => itemIdentifier));
    } catch (error) {
      this.options.stats.failedInvocations++;
      onHandlerError(error, event);
      return everyMessage;
    }
  }

  private async deleteMessages(messages: Message[]): Promise<void> {
    const { client, queueUrl, stats } = this.options;
    for (let start = 0; start < messages.length; start += MAX_SQS_BATCH_ENTRIES) {
      const chunk = messages.slice(start, start + MAX_SQS_BATCH_ENTRIES);
      try {
        const { Failed = [] } = await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
        stats.deleted += chunk.length - Failed.length;
        stats.deleteFailures += Failed.length;
      } catch (error) {
        this.options.errors.report(
          'local event source: DeleteMessageBatch failed on the shard queues; those messages will be delivered again',
          error,
        );
        stats.deleteFailures += chunk.length;
      }
    }
  }
}

export class InvalidBatchResponseError extends Error {
  override name = 'InvalidBatchResponseError';
}

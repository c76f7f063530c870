import { GetConnectionCommand, GoneException, type ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { addDeliveryCounts, getBroadcastPayload, type BroadcastKind, type DeliveryCounts } from '#commons/broadcasts';
import type { ConnectionPoster, PostOutcome, PreparedPayload } from '#commons/clients/management-api';
import { preparePayload } from '#commons/clients/management-api';
import { removeConnections, type ConnectionTables } from '#commons/connections';
import { DeliveryTaskError, sendDeliveryTasks, type DeliveryTask } from '#commons/delivery-tasks';
import { ConcurrencyLimit, jitteredBackoffMs, sleep } from '#commons/helpers/concurrency';
import { logger } from '#commons/helpers/logger';

/** What happened to each connection of one task, after the in-invocation retries. */
export interface SettledConnections {
  delivered: number;
  gone: string[];
  /** Throttled (429) or 5xx on every try: to be re-queued, never re-sent to the others. */
  undelivered: string[];
  /** Answers no retry can fix (403, 413, ...): counted as failed, and the first one logged. */
  rejected: number;
  firstRejection?: unknown;
}

export interface SettleOptions {
  /** Bounds the calls in flight, shared by every task of the invocation. */
  limit: ConcurrencyLimit;
  /** Extra passes over the throttled ids before giving them back to the queue. */
  retries: number;
  retryBaseMs: number;
}

/**
 * Calls `probe` once per connection, then retries only the throttled ones with jittered
 * backoff. Every call is awaited before this returns, and none can make it throw: a socket
 * whose call fails outright is counted as rejected, because failing the whole task would
 * send the message again to every socket that already has it.
 */
export async function settleConnections(connectionIds: readonly string[], probe: (connectionId: string) => Promise<PostOutcome>, options: SettleOptions): Promise<SettledConnections> {
  const settled: SettledConnections = { delivered: 0, gone: [], undelivered: [], rejected: 0 };
  let pending = connectionIds;
  for (let round = 0; ; round++) {
    const retry: string[] = [];
    await Promise.all(
      pending.map((connectionId) =>
        options.limit
          .run(() => probe(connectionId))
          .then(
            (outcome) => {
              if (outcome === 'delivered') settled.delivered++;
              else if (outcome === 'gone') settled.gone.push(connectionId);
              else retry.push(connectionId);
            },
            (error: unknown) => {
              settled.rejected++;
              settled.firstRejection ??= error;
            },
          ),
      ),
    );
    if (retry.length === 0 || round === options.retries) {
      settled.undelivered = retry;
      return settled;
    }
    await sleep(jitteredBackoffMs(round + 1, options.retryBaseMs, 2_000));
    pending = retry;
  }
}

/** The sweep's probe: GetConnection answers 410 for a socket API Gateway no longer has. */
export function checkConnection(client: ApiGatewayManagementApiClient): (connectionId: string) => Promise<PostOutcome> {
  return async (connectionId) => {
    try {
      await client.send(new GetConnectionCommand({ ConnectionId: connectionId }));
      return 'delivered';
    } catch (error) {
      if (error instanceof GoneException) return 'gone';
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
      if (status === 429 || status >= 500 || status === 0) return 'retry';
      throw error;
    }
  };
}

export interface DeliverySettings {
  tables: ConnectionTables & { broadcasts: string };
  shardQueueUrls: readonly string[];
  postConcurrency: number;
  maxDeliveryAttempts: number;
  retriesPerInvocation: number;
  retryBaseMs: number;
}

/** Delivery counts of one invocation, per broadcast, written in one update each. */
export class DeliveryTally {
  private readonly counts = new Map<string, DeliveryCounts>();

  constructor(private readonly broadcastsTable: string) {}

  add(broadcastId: string, { delivered, gone, failed }: DeliveryCounts): void {
    const total = this.counts.get(broadcastId) ?? { delivered: 0, gone: 0, failed: 0 };
    this.counts.set(broadcastId, { delivered: total.delivered + delivered, gone: total.gone + gone, failed: total.failed + failed });
  }

  async flush(): Promise<void> {
    await Promise.all(
      [...this.counts].map(([broadcastId, counts]) =>
        this.write(broadcastId, counts).catch((error) =>
          // The sockets got the message; failing the batch would send it to them again.
          logger.error('could not add delivery counts; the broadcast will time out waiting for them', { broadcastId, counts, error: error as Error }),
        ),
      ),
    );
    this.counts.clear();
  }

  /** Beyond the SDK's own retries: a lost count leaves the broadcast waiting for its delivery timeout. */
  private async write(broadcastId: string, counts: DeliveryCounts): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await addDeliveryCounts(this.broadcastsTable, broadcastId, counts);
      } catch (error) {
        if (attempt === 3) throw error;
        await sleep(jitteredBackoffMs(attempt + 1, 200, 5_000));
      }
    }
  }
}

interface BroadcastPayload {
  kind: BroadcastKind;
  payload?: PreparedPayload;
}

/**
 * Runs one delivery task: posts the broadcast's message to each of its connections (or,
 * for a sweep, checks each one), removes the gone ones, re-queues only the throttled ones
 * as a smaller task with the next attempt number, and adds the counts in one write.
 */
export class DeliveryService {
  /** Payloads of recent broadcasts: one read per broadcast per container, not per message. */
  private readonly payloads = new Map<string, Promise<BroadcastPayload>>();

  constructor(
    private readonly settings: DeliverySettings,
    private readonly poster: ConnectionPoster,
    private readonly managementApi: ApiGatewayManagementApiClient,
  ) {}

  /**
   * The bound on posts in flight for one invocation, whatever the number of its records
   * processed in parallel. Per invocation rather than per container: the local stack runs
   * several invocations of one module at once, each standing for its own Lambda instance.
   */
  newInvocationLimit(): ConcurrencyLimit {
    return new ConcurrencyLimit(this.settings.postConcurrency);
  }

  /** Adds the task's counts to `tally`; the caller writes the tally once per invocation. */
  async deliver(task: DeliveryTask, tally: DeliveryTally, limit: ConcurrencyLimit): Promise<void> {
    const { kind, payload } = await this.payloadOf(task.broadcastId);
    if (kind === 'message' && !payload) throw new DeliveryTaskError(`broadcast ${task.broadcastId} has no message to send`);
    const probe = kind === 'sweep' ? checkConnection(this.managementApi) : (connectionId: string) => this.poster.post(connectionId, payload!);
    const settled = await settleConnections(task.connectionIds, probe, {
      limit,
      retries: this.settings.retriesPerInvocation,
      retryBaseMs: this.settings.retryBaseMs,
    });
    if (settled.rejected > 0) {
      logger.error('connections rejected the message; counting them as failed', { broadcastId: task.broadcastId, rejected: settled.rejected, error: settled.firstRejection as Error });
    }
    // From here on nothing may fail the message: SQS would send it again and every socket
    // in it would get the broadcast twice.
    if (settled.gone.length > 0) {
      await removeConnections(this.settings.tables, task.partition, settled.gone).catch((error) =>
        logger.error('could not remove gone connections; the next sweep will', { partition: task.partition, error: error as Error }),
      );
    }
    const failed = settled.rejected + (await this.requeue(task, settled.undelivered));
    tally.add(task.broadcastId, { delivered: settled.delivered, gone: settled.gone.length, failed });
  }

  /** Returns how many connections are given up on (counted as failed). */
  private async requeue(task: DeliveryTask, undelivered: string[]): Promise<number> {
    if (undelivered.length === 0) return 0;
    const attempt = task.attempt + 1;
    if (attempt >= this.settings.maxDeliveryAttempts) return undelivered.length;
    const delaySeconds = Math.min(900, 2 ** attempt);
    const unsent = await sendDeliveryTasks([{ ...task, attempt, connectionIds: undelivered }], this.settings.shardQueueUrls, task.partition + attempt, delaySeconds);
    if (unsent.size === 0) return 0;
    logger.error('could not re-queue throttled connections; counting them as failed', { broadcastId: task.broadcastId, count: undelivered.length });
    return undelivered.length;
  }

  private payloadOf(broadcastId: string): Promise<BroadcastPayload> {
    let cached = this.payloads.get(broadcastId);
    if (!cached) {
      cached = getBroadcastPayload(this.settings.tables.broadcasts, broadcastId).then(({ kind, message }) => ({
        kind,
        payload: kind === 'message' && message !== undefined ? preparePayload(message) : undefined,
      }));
      cached.catch(() => this.payloads.delete(broadcastId));
      if (this.payloads.size >= 32) this.payloads.delete(this.payloads.keys().next().value as string);
      this.payloads.set(broadcastId, cached);
    }
    return cached;
  }
}

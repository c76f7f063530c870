/**
 * What the shard-queue consumer (functions/post-message.ts) does with a delivery task: posts to
 * each connection as the account's budget grants calls, re-queues what is left, and counts it all.
 */
import { randomUUID } from 'node:crypto';
import {
  addDeliveryCounts,
  carryEnqueued,
  putCarriedDeliveryCounts,
  type DeliveryCounts,
} from '#commons/broadcasts/counts';
import { claimPartition } from '#commons/broadcasts/claims';
import { findDoneTasks, markTasksDone, type TaskMessage } from '#commons/broadcasts/done-marks';
import { getBroadcastPayload, getDeliverBy, type BroadcastKind } from '#commons/broadcasts/plan';
import { recordFailedSockets } from '#commons/broadcasts/failed-sockets';
import type { FailureCounts, FailureReason } from '#commons/broadcasts/failure-reasons';
import type { ConnectionPoster, PostOutcome, PreparedPayload } from '#commons/clients/management-api';
import { preparePayload } from '#commons/clients/management-api';
import { removeConnections, type ConnectionTables } from '#commons/connections';
import { partitionOf } from '#commons/partitions';
import {
  DeliveryTaskError,
  sendDeliveryTasks,
  shardFor,
  type CarriedCounts,
  type DeliveryTask,
} from '#commons/delivery-tasks';
import { isThrottlingError, isUnavailableError } from '#commons/errors';
import { ConcurrencyLimit, jitteredBackoffMs, sleep } from '#commons/helpers/concurrency';
import { logger } from '#commons/helpers/logger';
import { retryWithBackoff, type RetryPolicy } from '#commons/helpers/retry';
import { CallStats } from '#commons/helpers/metrics';
import { RateBudget, type LeaseStore } from '#commons/rate-budget';

/** What happened to each connection of one task, after the in-invocation retries. */
export interface SettledConnections {
  delivered: number;
  gone: string[];
  /** Not called for want of budget in this invocation: re-queued with the same attempt. */
  waiting: string[];
  /** Full sockets: answered 429 again when tried again while the account's signal said its throttle was not the cause. Re-queued at once with the same attempt and a longer delay each round. */
  throttled: string[];
  /** Answered 429 while the account was over its rate (or before), then out of SOCKET_THROTTLE_RETRIES or of budget: re-queued with the same attempt and the budget's delay, like `waiting`. */
  accountThrottled: string[];
  /** 5xx or no answer on every try: re-queued with the next attempt number, never re-sent to the others. */
  unavailable: string[];
  /** Calls that got no answer at all and were made again (here or re-queued): each such socket may get the message twice. */
  unanswered: number;
  /** Answers no retry can fix (403, 413, ...) by reason: counted as failed, and the first one logged. */
  rejected: FailedSockets;
  firstRejection?: unknown;
}

/** Sockets given up on, by reason. */
export type FailedSockets = Partial<Record<FailureReason, string[]>>;

export const countFailed = (failed: FailedSockets): number =>
  Object.values(failed).reduce((sum, ids) => sum + ids.length, 0);
const failureCounts = (failed: FailedSockets): FailureCounts =>
  Object.fromEntries(Object.entries(failed).map(([reason, ids]) => [reason, ids.length]));

/** Which reason a call that threw stands for: API Gateway answers 403 and 413 with their status (the SDK's $metadata, or PostRejectedError's statusCode). */
function rejectionReason(error: unknown): FailureReason {
  const status =
    (error as { statusCode?: number }).statusCode ??
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 403 ? 'forbidden' : status === 413 ? 'tooLarge' : 'refused';
}

/** The part of RateBudget a delivery uses. */
export type CallBudget = Pick<RateBudget, 'take' | 'throttled' | 'recovered' | 'accountThrottled' | 'expect'>;

export interface SettleOptions {
  /** Bounds the calls in flight, shared by every task of the invocation. */
  limit: ConcurrencyLimit;
  /** Grants each call; shared by every task of the invocation. */
  budget: CallBudget;
  /** Extra tries of a socket that answered 5xx (or not at all) before it is re-queued. */
  retries: number;
  retryBaseMs: number;
  /** Where the 429s, call latencies and budget waits go (the invocation's metrics). */
  stats?: CallStats;
  /** The ids answered 429 before (a re-queued throttled task): a 429 now is a retry's, as the budget's signal counts them. */
  alreadyThrottled?: boolean;
}

/** While the account is over its rate, a socket that answered 429 is tried again at the next grants at most this many times, then re-queued. */
export const SOCKET_THROTTLE_RETRIES = 2;

/**
 * Calls `probe` once per connection, each call granted by the budget. A 429 means the account is
 * over its rate *or* this one socket's buffer is full. The socket is tried again at the next grant
 * (no waiting in the invocation: the budget paces it), and what the retry meets goes into the
 * budget's account-wide signal. If it answers 429 again, the signal decides: while 429s are the
 * account's (most retried sockets take the message), the socket keeps its place at the budget, a
 * few more grants, then re-queued like a socket that got no budget, and the budget comes down;
 * otherwise it is a full socket, re-queued at once with a delay (throttledRequeueSeconds) while
 * the rate stays. A 429 is never an attempt. A 5xx
 * is tried again `retries` times with jittered backoff. Every call is awaited before this returns,
 * and none can make it throw: a socket whose call fails outright is counted as rejected, because
 * failing the whole task would send the message again to every socket that already has it.
 */
export async function settleConnections(
  connectionIds: readonly string[],
  probe: (connectionId: string) => Promise<PostOutcome>,
  options: SettleOptions,
): Promise<SettledConnections> {
  const { limit, budget, retries, retryBaseMs, stats } = options;
  const settled: SettledConnections = {
    delivered: 0,
    gone: [],
    waiting: [],
    throttled: [],
    unavailable: [],
    unanswered: 0,
    accountThrottled: [],
    rejected: {},
  };
  const call = async (connectionId: string): Promise<PostOutcome | 'no budget'> => {
    const asked = performance.now();
    if (!(await budget.take())) return 'no budget';
    const granted = performance.now();
    stats?.budgetWait.add(granted - asked);
    try {
      return await probe(connectionId);
    } finally {
      stats?.latency.add(performance.now() - granted);
    }
  };
  const settle = async (connectionId: string, failures: number, throttles = 0): Promise<void> => {
    // The call slot first, then the grant: a grant is spent at once, never left to expire in a queue.
    const outcome = await limit
      .run(() => call(connectionId))
      .catch((error: unknown) => {
        (settled.rejected[rejectionReason(error)] ??= []).push(connectionId);
        settled.firstRejection ??= error;
        return 'rejected' as const;
      });
    const again = throttles > 0 || options.alreadyThrottled === true;
    if (outcome === 'delivered') {
      settled.delivered++;
      if (again) budget.recovered();
    } else if (outcome === 'gone') settled.gone.push(connectionId);
    else if (outcome === 'no budget') (again ? settled.accountThrottled : settled.waiting).push(connectionId);
    else if (outcome === 'throttled') {
      if (stats) stats.throttled++;
      budget.throttled(again);
      if (again && !budget.accountThrottled()) {
        settled.throttled.push(connectionId);
        return;
      }
      if (throttles >= SOCKET_THROTTLE_RETRIES) {
        settled.accountThrottled.push(connectionId);
        return;
      }
      budget.expect(1);
      await settle(connectionId, failures, throttles + 1);
    } else if (outcome === 'retry' || outcome === 'unanswered') {
      if (outcome === 'unanswered') settled.unanswered++;
      if (failures >= retries) {
        settled.unavailable.push(connectionId);
        return;
      }
      await sleep(jitteredBackoffMs(failures + 1, retryBaseMs, 2_000));
      budget.expect(1);
      await settle(connectionId, failures + 1);
    }
  };
  budget.expect(connectionIds.length);
  await Promise.all(connectionIds.map((connectionId) => settle(connectionId, 0)));
  return settled;
}

export interface DeliverySettings {
  tables: ConnectionTables & { broadcasts: string };
  /** The Connections rows' partition count: a gone socket of a channel broadcast has its row found from its id. */
  partitionCount: number;
  shardQueueUrls: readonly string[];
  postConcurrency: number;
  maxDeliveryAttempts: number;
  retriesPerInvocation: number;
  retryBaseMs: number;
  /** The account's delivery budget (calls/s). */
  deliveryRatePerSecond: number;
  /** Where the budget's lease item lives. */
  leaseStore: LeaseStore;
}

/**
 * How long ids still answering 429 wait on the queue before their next round: 2, 4, 8 … 60 s. A
 * slow reader thus costs a few calls a minute until it drains or the deadline fails it, not a
 * call at every grant.
 */
export function throttledRequeueSeconds(round: number): number {
  return Math.min(60, 2 ** Math.max(1, round));
}

/**
 * Why sockets that answered 429 up to the deadline failed, by the account's signal at the deadline:
 * `throttled` while the 429s are the account's, `slowReader` (a full buffer) while they are not.
 */
function throttledReason(budget: Pick<RateBudget, 'accountThrottled'>): 'slowReader' | 'throttled' {
  return budget.accountThrottled() ? 'throttled' : 'slowReader';
}

/** A task DynamoDB could not prepare (payload, claim) comes back after this long. */
const UNPREPARED_DELAY_SECONDS = 5;
/** A count write is retried on any error, longer than a read: the sockets already have the message. */
const COUNT_WRITE_RETRIES: RetryPolicy = { attempts: 4, baseMs: 200, capMs: 5_000, retryable: () => true };
/** Claims remembered per container; past this the memory starts over (a claim is only re-checked). */
const MAX_CACHED_CLAIMS = 10_000;

/** Room an invocation keeps before its timeout to re-queue what it could not deliver and write its counts. */
export const REQUEUE_RESERVE_MS = 10_000;

/** What one invocation's tasks share: the bound on calls in flight and a budget per kind of task. */
export class DeliveryInvocation {
  readonly limit: ConcurrencyLimit;
  /** What the invocation's calls met, for its metrics. */
  readonly stats = new CallStats();
  private readonly budgets = new Map<BroadcastKind, RateBudget>();
  /** Each broadcast's deadline, read when the invocation first meets the broadcast. */
  private readonly deadlines = new Map<string, Promise<PlannedDeadline>>();

  constructor(
    private readonly settings: DeliverySettings,
    /** No lease starts after this instant (epoch ms). */
    readonly deliverUntilMs: number,
  ) {
    this.limit = new ConcurrencyLimit(settings.postConcurrency);
  }

  budgetFor(kind: BroadcastKind): RateBudget {
    let budget = this.budgets.get(kind);
    if (!budget) {
      budget = new RateBudget({
        store: this.settings.leaseStore,
        ratePerSecond: this.settings.deliveryRatePerSecond,
        latestStartMs: this.deliverUntilMs,
      });
      this.budgets.set(kind, budget);
    }
    return budget;
  }

  /** The broadcast's delivery deadline, from its plan. */
  deadlineOf(broadcastId: string): Promise<PlannedDeadline> {
    let deadline = this.deadlines.get(broadcastId);
    if (!deadline) {
      const read = () => getDeliverBy(this.settings.tables.broadcasts, broadcastId);
      deadline = read().then((deliverBy) => new PlannedDeadline(read, deliverBy));
      deadline.catch(() => this.deadlines.delete(broadcastId));
      this.deadlines.set(broadcastId, deadline);
    }
    return deadline;
  }
}

/** The plan is read again at most this often once the deadline an invocation knows has come. */
const DEADLINE_REREAD_MS = 1_000;

/**
 * A broadcast's delivery deadline as its plan holds it. Each enqueue of the fan-out (and
 * ReadProgress) moves it later, so once the deadline known here has come, the plan is read again
 * before anything counts as past it; a read that fails keeps the known deadline.
 */
export class PlannedDeadline {
  private checkedAt: number;
  private rereading?: Promise<void>;

  constructor(
    private readonly read: () => Promise<number>,
    /** The latest deadline read (epoch ms). */
    public knownMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.checkedAt = now();
  }

  async passed(): Promise<boolean> {
    if (this.now() < this.knownMs) return false;
    if (this.now() - this.checkedAt >= DEADLINE_REREAD_MS) {
      this.rereading ??= this.read()
        .then((deliverBy) => void (this.knownMs = Math.max(this.knownMs, deliverBy)))
        .catch((error: unknown) =>
          logger.warn('could not read the delivery deadline again; going by the one read before', {
            error: error as Error,
          }),
        )
        .finally(() => {
          this.checkedAt = this.now();
          this.rereading = undefined;
        });
      await this.rereading;
    }
    return this.now() >= this.knownMs;
  }
}

/**
 * `budget`, closed at the broadcast's deadline: no call starts after it, so every socket is
 * delivered, gone or failed soon after it, and ReadProgress's counts are final.
 */
export function budgetUntil(budget: CallBudget, deadline: Pick<PlannedDeadline, 'passed'>): CallBudget {
  return {
    take: async () => {
      if (await deadline.passed()) {
        budget.expect(-1);
        return false;
      }
      return (await budget.take()) && !(await deadline.passed());
    },
    throttled: (again) => budget.throttled(again),
    recovered: () => budget.recovered(),
    accountThrottled: () => budget.accountThrottled(),
    expect: (n) => budget.expect(n),
  };
}

/**
 * Delivery counts of one invocation, per broadcast, written in one update each. A write
 * DynamoDB does not take is carried on a shard queue (`carrierQueueUrls`) and written from
 * there once it answers: the sockets got the message, so the messages of the batch are not
 * failed (that would send it again), and the counts are not dropped.
 */
export class DeliveryTally {
  private readonly counts = new Map<string, DeliveryCounts>();

  constructor(
    private readonly broadcastsTable: string,
    private readonly carrierQueueUrls: readonly string[] = [],
  ) {}

  add(broadcastId: string, { delivered, gone, failed, failedBy = {}, unanswered = 0 }: DeliveryCounts): void {
    const total = this.counts.get(broadcastId) ?? { delivered: 0, gone: 0, failed: 0, failedBy: {}, unanswered: 0 };
    const sumBy: FailureCounts = { ...total.failedBy };
    for (const [reason, count] of Object.entries(failedBy) as [FailureReason, number][])
      sumBy[reason] = (sumBy[reason] ?? 0) + count;
    this.counts.set(broadcastId, {
      delivered: total.delivered + delivered,
      gone: total.gone + gone,
      failed: total.failed + failed,
      failedBy: sumBy,
      unanswered: (total.unanswered ?? 0) + unanswered,
    });
  }

  /** The invocation's counts over all its broadcasts (for metrics). */
  totals(): DeliveryCounts {
    const sum = { delivered: 0, gone: 0, failed: 0 };
    for (const c of this.counts.values())
      (sum.delivered += c.delivered), (sum.gone += c.gone), (sum.failed += c.failed);
    return sum;
  }

  async flush(): Promise<void> {
    await Promise.all(
      [...this.counts].map(([broadcastId, counts]) =>
        this.write(broadcastId, counts).catch((error) => this.carry(broadcastId, counts, error)),
      ),
    );
    this.counts.clear();
  }

  private async carry(broadcastId: string, counts: DeliveryCounts, writeError: unknown): Promise<void> {
    const carrier: CarriedCounts = {
      carriedCounts: {
        broadcastId,
        countId: randomUUID(),
        delivered: counts.delivered,
        gone: counts.gone,
        failed: counts.failed,
        failedBy: counts.failedBy ?? {},
        unanswered: counts.unanswered ?? 0,
        deliveredAt: Date.now(),
      },
    };
    const unsent =
      this.carrierQueueUrls.length > 0
        ? await sendDeliveryTasks(
            [carrier],
            this.carrierQueueUrls,
            Math.floor(Math.random() * this.carrierQueueUrls.length),
          )
        : new Set([0]);
    if (unsent.size === 0) {
      logger.warn('could not add delivery counts; carried on a shard queue until DynamoDB takes them', {
        broadcastId,
        counts,
        error: writeError as Error,
      });
      return;
    }
    // The sockets got the message; failing the batch would send it to them again.
    logger.error('could not add delivery counts nor carry them; the broadcast will time out waiting for them', {
      broadcastId,
      counts,
      error: writeError as Error,
    });
  }

  /** Beyond the SDK's own retries, whatever the error: a lost count leaves the broadcast waiting for its delivery timeout. */
  private async write(broadcastId: string, counts: DeliveryCounts): Promise<void> {
    await retryWithBackoff(
      `the delivery counts of broadcast ${broadcastId}`,
      () => addDeliveryCounts(this.broadcastsTable, broadcastId, counts),
      COUNT_WRITE_RETRIES,
    );
  }
}

/**
 * The delivery tasks of one batch that an earlier receive of the same SQS message already
 * finished: SQS sends a message again when its delete is lost (SQS unavailable as the batch
 * ended, say), and posting it again would give every one of its sockets the broadcast twice.
 * Looked up once per batch; the tasks this invocation finishes are marked once it ends.
 */
export class FinishedTasks {
  private readonly finishedNow: TaskMessage[] = [];

  private constructor(
    private readonly broadcastsTable: string,
    private readonly finishedBefore: ReadonlySet<string>,
  ) {}

  /** If DynamoDB does not answer, nothing counts as finished: a lost delete is rare, a skipped task would be a missed socket. */
  static async lookUp(broadcastsTable: string, tasks: readonly TaskMessage[]): Promise<FinishedTasks> {
    const finished = await findDoneTasks(broadcastsTable, tasks).catch((error: unknown) => {
      logger.warn('could not look up which tasks of the batch are already finished; delivering all of them', {
        error: error as Error,
      });
      return new Set<string>();
    });
    if (finished.size > 0)
      logger.info('tasks an earlier receive of their message finished; not delivered again', { count: finished.size });
    return new FinishedTasks(broadcastsTable, finished);
  }

  wasFinished(messageId: string): boolean {
    return this.finishedBefore.has(messageId);
  }

  finished(task: TaskMessage): void {
    this.finishedNow.push(task);
  }

  /** A mark that is not written is logged: only a second receive of that message would then post again. */
  async flush(): Promise<void> {
    if (this.finishedNow.length === 0) return;
    await markTasksDone(this.broadcastsTable, this.finishedNow).catch((error: unknown) =>
      logger.warn('could not mark finished tasks; if SQS sends them again their sockets get the message twice', {
        count: this.finishedNow.length,
        error: error as Error,
      }),
    );
  }
}

interface BroadcastPayload {
  kind: BroadcastKind;
  payload?: PreparedPayload;
  channel?: string;
}

/** A task ready to deliver: its broadcast's payload and delivery deadline. */
type PreparedTask = BroadcastPayload & { deadline: PlannedDeadline };

/**
 * Runs one delivery task: posts the broadcast's message to each of its connections as the
 * account's budget grants calls (a sweep task: deletes its expired rows, no call), removes the gone ones,
 * re-queues only the undelivered ones as a smaller task, and adds the counts in one write.
 */
export class DeliveryService {
  /** Payloads of recent broadcasts: one read per broadcast per container, not per message. */
  private readonly payloads = new Map<string, Promise<BroadcastPayload>>();
  /** Whether this container's claim of a partition for a run held, by broadcast#partition#run. */
  private readonly claims = new Map<string, boolean>();

  constructor(
    private readonly settings: DeliverySettings,
    private readonly poster: ConnectionPoster,
  ) {}

  /**
   * What the tasks of one invocation share, given the time it has left: the bound on posts in
   * flight and the budgets. Per invocation rather than per container: the local stack runs
   * several invocations of one module at once, each standing for its own Lambda instance.
   */
  newInvocation(remainingMs: number, now = Date.now()): DeliveryInvocation {
    return new DeliveryInvocation(this.settings, now + remainingMs - REQUEUE_RESERVE_MS);
  }

  /**
   * Writes counts a tally carried on a queue. A PUT keyed by their id: counted once however often
   * SQS delivers the carrier. Throws while DynamoDB does not take it, so SQS delivers it again.
   */
  async writeCarried({ carriedCounts }: CarriedCounts): Promise<void> {
    const { broadcastId, countId, deliveredAt, ...counts } = carriedCounts;
    await putCarriedDeliveryCounts(this.settings.tables.broadcasts, broadcastId, countId, counts, deliveredAt);
  }

  /** Adds the task's counts to `tally`; the caller writes the tally once per invocation. */
  async deliver(task: DeliveryTask, tally: DeliveryTally, invocation: DeliveryInvocation): Promise<void> {
    let ready: PreparedTask | undefined;
    try {
      ready = await this.prepare(task, invocation);
    } catch (error) {
      if (!isThrottlingError(error) && !isUnavailableError(error)) throw error;
      // Nothing was posted: the task goes back whole, later, without using up a receive of SQS's.
      const unsent = await sendDeliveryTasks(
        [task],
        this.settings.shardQueueUrls,
        task.partition,
        UNPREPARED_DELAY_SECONDS,
      );
      if (unsent.size > 0) throw error;
      logger.warn('DynamoDB did not answer before delivery; the task is re-queued unsent', {
        broadcastId: task.broadcastId,
        partition: task.partition,
        error: error as Error,
      });
      return;
    }
    if (!ready) return;
    const { kind, payload, deadline, channel } = ready;
    if (kind === 'message' && !payload)
      throw new DeliveryTaskError(`broadcast ${task.broadcastId} has no message to send`);
    if (await deadline.passed()) {
      logger.error('delivery deadline passed before these connections got the message; counting them as failed', {
        broadcastId: task.broadcastId,
        count: task.connectionIds.length,
        throttled: task.throttled !== undefined,
      });
      // Sockets that answered 429 up to the deadline: full sockets, or the account's throttle, as its signal says now.
      const reason = task.throttled ? throttledReason(invocation.budgetFor(kind)) : 'deadline';
      const failed: FailedSockets = { [reason]: [...task.connectionIds] };
      if (kind === 'message') await this.keepFailed(task, failed);
      tally.add(task.broadcastId, {
        delivered: 0,
        gone: 0,
        failed: countFailed(failed),
        failedBy: failureCounts(failed),
      });
      return;
    }
    if (kind === 'sweep') return this.sweep(task, tally);
    const budget = invocation.budgetFor(kind);
    const settled = await settleConnections(task.connectionIds, (id) => this.poster.post(id, payload!), {
      limit: invocation.limit,
      budget: budgetUntil(budget, deadline),
      retries: this.settings.retriesPerInvocation,
      retryBaseMs: this.settings.retryBaseMs,
      stats: invocation.stats,
      alreadyThrottled: task.throttled !== undefined,
    });
    if (countFailed(settled.rejected) > 0) {
      logger.error('connections rejected the message; counting them as failed', {
        broadcastId: task.broadcastId,
        rejected: failureCounts(settled.rejected),
        error: settled.firstRejection as Error,
      });
    }
    // From here on nothing may fail the message: SQS would send it again and every socket
    // in it would get the broadcast twice.
    if (settled.gone.length > 0) {
      // A channel task's partition is the channel's: each row is keyed by its id's own partition.
      const rowPartition =
        channel === undefined ? task.partition : (id: string) => partitionOf(id, this.settings.partitionCount);
      await removeConnections(this.settings.tables, rowPartition, settled.gone, { channel }).catch((error) =>
        logger.error('could not remove gone connections; the next sweep will', {
          partition: task.partition,
          error: error as Error,
        }),
      );
    }
    const failed: FailedSockets = {
      ...settled.rejected,
      ...(await this.requeue(task, settled, budget.retryAfterMs, deadline, throttledReason(budget))),
    };
    if (kind === 'message' && countFailed(failed) > 0) await this.keepFailed(task, failed);
    tally.add(task.broadcastId, {
      delivered: settled.delivered,
      gone: settled.gone.length,
      failed: countFailed(failed),
      failedBy: failureCounts(failed),
      unanswered: settled.unanswered,
    });
  }

  /**
   * A sweep task holds rows past their expiresAt: API Gateway closes every socket within
   * connectionTtlSeconds, so they are gone without asking it. Deleted with their memberships, no
   * @connections call and no budget. A delete DynamoDB does not take sends the task back whole,
   * later (deletes are idempotent); one that fails otherwise fails the message, so SQS retries it.
   */
  private async sweep(task: DeliveryTask, tally: DeliveryTally): Promise<void> {
    try {
      await removeConnections(this.settings.tables, task.partition, task.connectionIds);
    } catch (error) {
      if (!isThrottlingError(error) && !isUnavailableError(error)) throw error;
      const unsent = await sendDeliveryTasks(
        [task],
        this.settings.shardQueueUrls,
        task.partition,
        UNPREPARED_DELAY_SECONDS,
      );
      if (unsent.size > 0) throw error;
      logger.warn('DynamoDB did not take the deletes of expired connections; the sweep task is re-queued', {
        broadcastId: task.broadcastId,
        partition: task.partition,
        error: error as Error,
      });
      return;
    }
    tally.add(task.broadcastId, { delivered: 0, gone: task.connectionIds.length, failed: 0 });
  }

  /**
   * Puts the undelivered ids back on the queue, never the delivered ones: those that waited for
   * budget with the same attempt number (after `retryAfterMs`), those that hit 5xx with the
   * next. Returns those given up on (counted as failed), by reason: past the delivery deadline
   * or the attempts, or not re-queued because SQS refused them after its retries. No delay
   * outlasts the deadline: a task back after it is counted failed at once, within the grace.
   */
  private async requeue(
    task: DeliveryTask,
    settled: SettledConnections,
    retryAfterMs: number,
    deadline: PlannedDeadline,
    /** What a 429'd socket given up on at the deadline is counted as. */
    throttledGivenUp: 'slowReader' | 'throttled',
  ): Promise<FailedSockets> {
    const pastDeadline = await deadline.passed();
    const now = Date.now();
    const nextAttempt = task.attempt + 1;
    const pastAttempts = nextAttempt >= this.settings.maxDeliveryAttempts;
    const untilDeadline = (seconds: number) =>
      Math.max(0, Math.min(seconds, Math.ceil((deadline.knownMs - now) / 1000)));
    const budgetDelaySeconds = untilDeadline(Math.min(900, Math.ceil(retryAfterMs / 1000)));
    const throttledRounds = task.throttled === true ? 1 : (task.throttled ?? 0);
    const groups = [
      {
        ids: settled.waiting,
        attempt: task.attempt,
        delaySeconds: budgetDelaySeconds,
        givenUp: pastDeadline ? ('deadline' as const) : undefined,
      },
      {
        ids: settled.accountThrottled,
        attempt: task.attempt,
        delaySeconds: budgetDelaySeconds,
        givenUp: pastDeadline ? throttledGivenUp : undefined,
      },
      {
        ids: settled.throttled,
        attempt: task.attempt,
        delaySeconds: untilDeadline(Math.max(budgetDelaySeconds, throttledRequeueSeconds(throttledRounds + 1))),
        throttled: throttledRounds + 1,
        givenUp: pastDeadline ? throttledGivenUp : undefined,
      },
      {
        ids: settled.unavailable,
        attempt: nextAttempt,
        delaySeconds: untilDeadline(Math.min(900, 2 ** nextAttempt)),
        givenUp: pastAttempts ? ('unavailable' as const) : pastDeadline ? ('deadline' as const) : undefined,
      },
    ];
    const failed: FailedSockets = {};
    for (const { ids, attempt, delaySeconds, throttled, givenUp } of groups) {
      if (ids.length === 0) continue;
      if (givenUp) {
        (failed[givenUp] ??= []).push(...ids);
        continue;
      }
      const { enqueued: _carried, throttled: _wasThrottled, ...rest } = task;
      const requeued: DeliveryTask = { ...rest, attempt, connectionIds: ids, ...(throttled ? { throttled } : {}) };
      const unsent = await sendDeliveryTasks(
        [requeued],
        this.settings.shardQueueUrls,
        shardFor(task.partition, nextAttempt),
        delaySeconds,
      );
      if (unsent.size > 0) {
        logger.error('could not re-queue undelivered connections; counting them as failed', {
          broadcastId: task.broadcastId,
          count: ids.length,
        });
        (failed.unqueued ??= []).push(...ids);
      }
    }
    return failed;
  }

  /** Keeps the ids given up on for `swarmcast replay`; a lost write is logged, never a re-send to the task's other sockets. */
  private async keepFailed(task: DeliveryTask, failed: FailedSockets): Promise<void> {
    await recordFailedSockets(
      this.settings.tables.broadcasts,
      task.broadcastId,
      task.partition,
      Object.values(failed).flat(),
      failureCounts(failed),
    ).catch((error) =>
      logger.error('could not keep the failed sockets; a replay will not reach them', {
        broadcastId: task.broadcastId,
        partition: task.partition,
        count: countFailed(failed),
        error: error as Error,
      }),
    );
  }

  /**
   * What must hold before the first post: the payload and the deadline, the partition claimed for
   * the task's run (undefined: another run delivers to it, the task is dropped) and the partition's
   * carried enqueued count recorded. Claims are kept per container: one write per partition and run.
   */
  private async prepare(task: DeliveryTask, invocation: DeliveryInvocation): Promise<PreparedTask | undefined> {
    const [payload, deadline] = await Promise.all([
      this.payloadOf(task.broadcastId),
      invocation.deadlineOf(task.broadcastId),
    ]);
    if (task.run === undefined) return { ...payload, deadline };
    const claim = `${task.broadcastId}#${task.partition}#${task.run}`;
    let claimed = this.claims.get(claim);
    if (claimed === undefined) {
      claimed = await claimPartition(this.settings.tables.broadcasts, task.broadcastId, task.partition, task.run);
      if (this.claims.size >= MAX_CACHED_CLAIMS) this.claims.clear();
      this.claims.set(claim, claimed);
    }
    if (!claimed) {
      logger.warn("another run of this partition delivers to it; dropping this run's task unsent", {
        broadcastId: task.broadcastId,
        partition: task.partition,
        run: task.run,
        count: task.connectionIds.length,
      });
      return undefined;
    }
    if (task.enqueued !== undefined)
      await carryEnqueued(this.settings.tables.broadcasts, task.broadcastId, task.partition, task.enqueued);
    return { ...payload, deadline };
  }

  private payloadOf(broadcastId: string): Promise<BroadcastPayload> {
    let cached = this.payloads.get(broadcastId);
    if (!cached) {
      cached = getBroadcastPayload(this.settings.tables.broadcasts, broadcastId).then(({ kind, message, channel }) => ({
        kind,
        channel,
        payload: kind === 'message' && message !== undefined ? preparePayload(message) : undefined,
      }));
      cached.catch(() => this.payloads.delete(broadcastId));
      if (this.payloads.size >= 32) this.payloads.delete(this.payloads.keys().next().value as string);
      this.payloads.set(broadcastId, cached);
    }
    return cached;
  }
}

/**
 * The account's delivery budget: one rate of @connections calls shared by every consumer
 * invocation of every shard, whatever their number, held in one DynamoDB item.
 *
 * The item is a clock: `reservedUntilUs` is the instant up to which the budget is spoken for.
 * A lease of n calls at a share of r calls/s reserves the next n/r seconds of that clock with
 * one conditional `ADD` (GCRA, the generic cell rate algorithm): the leases are disjoint
 * stretches of time, so in any second at most `deliveryRatePerSecond` calls are leased, however
 * many consumers lease.
 * A lease's calls are due evenly over its stretch, each may go out until shortly after it is due
 * and is dropped after: in any second, at most the rate plus LEASE_GRACE_MS of it.
 *
 * Writes to the item: one per lease, leases of at least 25 ms of budget (225 calls at 9,000/s;
 * longer when the store answers slowly), so ≤ 40 successful writes/s at any rate and any number of
 * consumers (+ two catch-up writes after an idle spell, + one failed write per invocation that
 * finds no room before its end), each 1 WCU (the item is < 100 bytes): far below DynamoDB's
 * 1,000 WCU/s per partition.
 *
 * A 429 from API Gateway means the account is over its quota (other traffic, a budget set too
 * high) *or* one client's buffer is full. Which, is decided across consumers by an account-wide
 * signal the leases keep in the same item (`SignalCounts` per SIGNAL_WINDOW_MS): every lease write
 * adds the calls, 429s and retries of 429'd sockets its invocation saw. The account's throttle
 * answers 429 at random, so a socket tried again at once mostly takes the message; a full socket
 * answers 429 again. While most retried sockets take it (`accountThrottled()`), 429s are the
 * account's: an invocation that got them halves its share for its next lease (it then holds the
 * clock longer for the same calls, which slows the whole account) and the share grows back lease
 * by lease. While they do not, 429s are full sockets: the rate stays, the caller delays those sockets.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { budgetDynamoDb } from '#commons/clients/dynamodb';
import { sleep } from '#commons/helpers/concurrency';
import { rateBudgetTable } from '#commons/tables';

/** A lease covers this much of the budget's time: big enough to keep writes low, small beside API Gateway's 5,000 burst. */
export const LEASE_MS = 25;
/** A leased call may still go out this long after its lease ended; later it is dropped, so no second overshoots. */
export const LEASE_GRACE_MS = 25;

/** The account-wide 429 signal is counted per window of this long; a decision reads the current and the previous one. */
export const SIGNAL_WINDOW_MS = 1_000;
/** 429s are the account's while retried sockets answer 429 again no more often than this… */
export const ACCOUNT_REPEAT_SHARE = 0.5;
/** …or than this many times as often as first calls do: the account's throttle answers a retry as it answers any call. */
export const ACCOUNT_REPEAT_RATIO = 2;

/** What the account's calls met in one signal window, summed over every consumer that leased in it. */
export interface SignalCounts {
  /** Calls granted. */
  calls: number;
  /** Calls answered 429. */
  throttled: number;
  /** Sockets tried again after a 429, and of those, how many answered 429 again. */
  retried: number;
  repeated: number;
}
const SIGNAL_FIELDS = ['calls', 'throttled', 'retried', 'repeated'] as const;
const noCounts = (): SignalCounts => ({ calls: 0, throttled: 0, retried: 0, repeated: 0 });

/** The budget item's fields (microseconds since the epoch: integers, exact under DynamoDB's ADD). */
export interface BudgetClockItem {
  reservedUntilUs?: number;
  /** The 429 signal by window index (epoch ms / SIGNAL_WINDOW_MS); absent until a lease reports one. */
  signal?: Record<number, SignalCounts>;
}

/** Counts a lease write adds to its window, and older windows it removes (seen in an earlier answer): the item stays small. */
export interface SignalReport {
  window: number;
  counts: SignalCounts;
  forget: number[];
}

/**
 * One conditional write on the budget item. `extend` moves the clock on by `durationUs` if it
 * stands between `notBeforeUs` and `notAfterUs`; `restart` sets it to `startUs + durationUs` if
 * it stands before `startUs` (idle budget) or is missing.
 */
export type LeaseWrite =
  | {
      kind: 'extend';
      durationUs: number;
      notBeforeUs: number;
      notAfterUs: number;
      report?: SignalReport;
    }
  | {
      kind: 'restart';
      startUs: number;
      durationUs: number;
      report?: SignalReport;
    };

/** Applies a LeaseWrite atomically; returns the item after it when applied, the current item when not. */
export interface LeaseStore {
  apply(write: LeaseWrite): Promise<{ applied: boolean; item: BudgetClockItem }>;
  /** The item as the last answer showed it, shared by every invocation of the container. */
  readonly lastSeen?: BudgetClockItem;
}

/** The budget item in DynamoDB: the conditions are DynamoDB's, evaluated atomically by DynamoDB. */
export class DynamoDbLeaseStore implements LeaseStore {
  lastSeen?: BudgetClockItem;

  constructor(
    private readonly tableName: string,
    private readonly budgetName = 'account',
  ) {}

  async apply(write: LeaseWrite): Promise<{ applied: boolean; item: BudgetClockItem }> {
    const names: Record<string, string> = { '#until': 'reservedUntilUs' };
    const values: Record<string, number> = { ':d': write.durationUs };
    const conditions: string[] = [];
    if (write.kind === 'extend') {
      conditions.push('#until BETWEEN :notBefore AND :notAfter');
      Object.assign(values, { ':notBefore': write.notBeforeUs, ':notAfter': write.notAfterUs });
    } else {
      conditions.push('(attribute_not_exists(#until) OR #until < :start)');
      Object.assign(values, { ':start': write.startUs, ':end': write.startUs + write.durationUs });
      delete values[':d'];
    }
    const adds: string[] = write.kind === 'extend' ? ['#until :d'] : [];
    const sets: string[] = write.kind === 'restart' ? ['#until = :end'] : [];
    const removes: string[] = [];
    if (write.report) {
      const { window, counts, forget } = write.report;
      for (const field of SIGNAL_FIELDS) {
        if (counts[field] === 0) continue;
        names[`#${field}`] = signalAttribute(window, field);
        values[`:${field}`] = counts[field];
        adds.push(`#${field} :${field}`);
      }
      forget.forEach((old, i) => {
        for (const field of SIGNAL_FIELDS) {
          names[`#old${i}${field}`] = signalAttribute(old, field);
          removes.push(`#old${i}${field}`);
        }
      });
    }
    const update = [
      adds.length > 0 ? `ADD ${adds.join(', ')}` : '',
      sets.length > 0 ? `SET ${sets.join(', ')}` : '',
      removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    const Key = { [rateBudgetTable.partitionKey.name]: this.budgetName };
    try {
      const { Attributes } = await budgetDynamoDb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: update,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = clockFields(Attributes);
      if (item.reservedUntilUs === undefined)
        throw new Error(`budget item ${this.budgetName} came back without reservedUntilUs`);
      this.lastSeen = item;
      return { applied: true, item };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // A consistent read, not ReturnValuesOnConditionCheckFailure: dynalite (the local stack) lacks it.
      const { Item } = await budgetDynamoDb.send(
        new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }),
      );
      this.lastSeen = clockFields(Item);
      return { applied: false, item: this.lastSeen };
    }
  }
}

/** A window's counter in the item: one flat number attribute each, so a lease write can ADD to it. */
const signalAttribute = (window: number, field: (typeof SIGNAL_FIELDS)[number]) => `signal_${window}_${field}`;
const SIGNAL_ATTRIBUTE = /^signal_(\d+)_(calls|throttled|retried|repeated)$/;

function clockFields(item: Record<string, unknown> | undefined): BudgetClockItem {
  const fields: BudgetClockItem = {};
  if (typeof item?.reservedUntilUs === 'number') fields.reservedUntilUs = item.reservedUntilUs;
  for (const [name, value] of Object.entries(item ?? {})) {
    const match = SIGNAL_ATTRIBUTE.exec(name);
    if (!match || typeof value !== 'number') continue;
    const signal = (fields.signal ??= {});
    (signal[Number(match[1])] ??= noCounts())[match[2] as (typeof SIGNAL_FIELDS)[number]] = value;
  }
  return fields;
}

/** Time for the budget; tests drive it virtually. */
export interface BudgetClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}
export const systemClock: BudgetClock = { now: () => Date.now(), sleep };

export interface RateBudgetOptions {
  store: LeaseStore;
  /** Calls per second: deliveryRatePerSecond. */
  ratePerSecond: number;
  /** No lease may start after this instant (ms): the invocation must still be running to use it. */
  latestStartMs: number;
  clock?: BudgetClock;
}

/** Why a budget grants no more calls: the caller re-queues what is left, with `retryAfterMs` of delay. */
export type BudgetClosed = { reason: 'deadline' | 'busy' | 'unavailable'; retryAfterMs: number };

/** A stretch of the budget clock: `tokens` calls, the i-th due at startMs + i·(endMs − startMs)/tokens. */
interface Lease {
  startMs: number;
  endMs: number;
  tokens: number;
  /** The next call to hand out. */
  next: number;
}

/** Consecutive store errors before the budget gives up for this invocation (its ids are re-queued). */
const MAX_STORE_ERRORS = 3;
/** The lowest fraction of its share a run of 429s can bring an invocation to. */
const MIN_SHARE_FACTOR = 1 / 16;
/** Calls due within this long are handed out together: one timer per few calls, not per call. */
const MIN_WAKE_MS = 2;
/** A lease covers at least twice the store's round trip, at most this long. */
const MAX_LEASE_MS = 250;

/**
 * One invocation's access to the budget. `take()` resolves true when one call may go out now,
 * false when this invocation gets no more budget (see `closed`). Calls are handed out in order,
 * each at its due time within its lease; a call not taken within LEASE_GRACE_MS of its due
 * time is dropped, so calls never bunch up above the rate. `expect(n)` tells the budget how
 * many more calls are coming, so a lease is never larger than what will be spent. The next
 * lease is fetched when the leases held run out within one store round trip and one lease: a
 * consumer waiting on a lease in the future fetches nothing, so N consumers hold the clock
 * at most about N leases ahead.
 */
export class RateBudget {
  readonly clock: BudgetClock;
  /** Calls leased on the clock so far; granted: handed out; dropped: leased calls that went unspent past their grace. */
  leased = 0;
  granted = 0;
  dropped = 0;
  closed?: BudgetClosed;
  private readonly leases: Lease[] = [];
  private readonly waiters: ((granted: boolean) => void)[] = [];
  private demand = 0;
  private fetching = false;
  private wakeAt = Number.POSITIVE_INFINITY;
  private shareFactor = 1;
  private throttledSinceLease = false;
  /** This invocation's part of the signal not yet added to the item (calls: granted − callsReported). */
  private readonly unreported = noCounts();
  private callsReported = 0;
  private storeErrors = 0;
  /** Smoothed round trip of a lease write: a lease must start no sooner than its answer can arrive. */
  private storeRoundTripMs = 10;

  constructor(private readonly options: RateBudgetOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** `n` more calls will ask for budget (negative: fewer than announced). */
  expect(n: number): void {
    this.demand += n;
  }

  take(): Promise<boolean> {
    this.demand--;
    if (this.closed && this.heldTokens() <= this.waiters.length) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.waiters.push(resolve);
      this.pump();
    });
  }

  /**
   * A call answered 429; `again`: it was a retry of a socket that had answered 429 (still full, or
   * the account still over its rate). Counted in the account's signal; if the signal says the 429s
   * are the account's, the next lease is at half the share.
   */
  throttled(again = false): void {
    this.throttledSinceLease = true;
    this.unreported.throttled++;
    if (again) {
      this.unreported.retried++;
      this.unreported.repeated++;
    }
  }

  /** A socket that had answered 429 took the message when tried again: evidence of the account's throttle, not a full socket. */
  recovered(): void {
    this.unreported.retried++;
  }

  /**
   * Whether 429s now are the account's throttle (true) or full sockets (false), from the signal
   * of every consumer (the item as last seen by this container) and this invocation's unreported
   * counts. A full socket answers its retry 429 whatever the rate; the account's throttle answers
   * retries about as often as first calls. One recovered and one repeated retry are assumed
   * beforehand: with no retry known yet, 429s are the account's and slow the rate down.
   */
  accountThrottled(): boolean {
    const window = signalWindow(this.clock.now());
    const seen = this.options.store.lastSeen?.signal ?? {};
    const sum = { ...this.unreported, calls: this.granted - this.callsReported };
    for (const counts of [seen[window], seen[window - 1]])
      for (const field of SIGNAL_FIELDS) sum[field] += counts?.[field] ?? 0;
    const repeatShare = (sum.repeated + 1) / (sum.retried + 2);
    const firstCalls = sum.calls - sum.retried;
    const firstShare = firstCalls > 0 ? Math.max(0, sum.throttled - sum.repeated) / firstCalls : 0;
    return repeatShare <= Math.max(ACCOUNT_REPEAT_SHARE, ACCOUNT_REPEAT_RATIO * firstShare);
  }

  /** The delay after which a re-queued call should come back, when the budget is closed. */
  get retryAfterMs(): number {
    return this.closed?.retryAfterMs ?? 0;
  }

  private pump(): void {
    const now = this.clock.now();
    let nextDueMs = Number.POSITIVE_INFINITY;
    for (const lease of this.leases) {
      const step = (lease.endMs - lease.startMs) / lease.tokens;
      while (lease.next < lease.tokens && lease.startMs + lease.next * step + LEASE_GRACE_MS < now) {
        lease.next++;
        this.dropped++;
      }
      while (lease.next < lease.tokens && this.waiters.length > 0 && lease.startMs + lease.next * step <= now) {
        lease.next++;
        this.granted++;
        this.waiters.shift()!(true);
      }
      if (lease.next < lease.tokens) {
        nextDueMs = lease.startMs + lease.next * step;
        break;
      }
    }
    while (this.leases.length > 0 && this.leases[0].next === this.leases[0].tokens) this.leases.shift();
    const held = this.heldTokens();
    if (this.closed) {
      // The leases already held are still spent: their time is reserved on the shared clock, and
      // no other consumer may use it. Only the calls beyond them get no budget.
      for (const waiter of this.waiters.splice(held)) waiter(false);
    } else {
      const wanted = this.waiters.length + Math.max(0, this.demand);
      const heldUntilMs = this.leases.length > 0 ? this.leases[this.leases.length - 1].endMs : now;
      if (!this.fetching && wanted > held && heldUntilMs - now < this.storeRoundTripMs + LEASE_MS)
        void this.fetchLease(wanted - held);
    }
    const wakeAt = Math.max(nextDueMs, now + MIN_WAKE_MS);
    if (this.waiters.length > 0 && wakeAt < this.wakeAt) {
      this.wakeAt = wakeAt;
      void this.clock.sleep(wakeAt - now).then(() => {
        this.wakeAt = Number.POSITIVE_INFINITY;
        this.pump();
      });
    }
  }

  private async fetchLease(wanted: number): Promise<void> {
    this.fetching = true;
    try {
      const lease = await this.lease(wanted);
      this.storeErrors = 0;
      if (lease) {
        this.leases.push(lease);
        this.leased += lease.tokens;
      }
    } catch {
      // The budget item could not be written (throttled or unreachable): try again, then give the calls back to the queue.
      if (++this.storeErrors >= MAX_STORE_ERRORS) this.closed = { reason: 'unavailable', retryAfterMs: 5_000 };
      else await this.clock.sleep(50 * 2 ** this.storeErrors);
    } finally {
      this.fetching = false;
    }
    this.pump();
  }

  /** Calls leased and not yet handed out or dropped. */
  private heldTokens(): number {
    return this.leases.reduce((sum, lease) => sum + lease.tokens - lease.next, 0);
  }

  /** One store write, timed: its round trip decides how far ahead leases must start. */
  private async write(write: LeaseWrite): Promise<{ applied: boolean; item: BudgetClockItem }> {
    const sentMs = this.clock.now();
    const report = this.signalReport(sentMs);
    const result = await this.options.store.apply(report ? { ...write, report } : write);
    this.storeRoundTripMs = 0.8 * this.storeRoundTripMs + 0.2 * (this.clock.now() - sentMs);
    if (result.applied && report) {
      // Only what this write carried: counts that arrived meanwhile go with the next one.
      this.callsReported += report.counts.calls;
      for (const field of ['throttled', 'retried', 'repeated'] as const) this.unreported[field] -= report.counts[field];
    }
    return result;
  }

  /** What this invocation's next lease write adds to the signal, and the windows too old to read; undefined: nothing. */
  private signalReport(nowMs: number): SignalReport | undefined {
    const window = signalWindow(nowMs);
    const counts = { ...this.unreported, calls: this.granted - this.callsReported };
    const forget = Object.keys(this.options.store.lastSeen?.signal ?? {})
      .map(Number)
      .filter((old) => old < window - 1);
    if (forget.length === 0 && SIGNAL_FIELDS.every((field) => counts[field] === 0)) return undefined;
    return { window, counts, forget };
  }

  /** Reserves up to `wanted` calls on the budget clock, or closes the budget and returns undefined. */
  private async lease(wanted: number): Promise<Lease | undefined> {
    // One cut per lease at most: the 429s of one burst are one signal, not many. Full sockets cut nothing.
    if (this.throttledSinceLease && this.accountThrottled())
      this.shareFactor = Math.max(MIN_SHARE_FACTOR, this.shareFactor / 2);
    else this.shareFactor = Math.min(1, this.shareFactor * 1.5);
    this.throttledSinceLease = false;
    const { latestStartMs } = this.options;
    const rate = this.options.ratePerSecond * this.shareFactor;
    // Longer leases when the store is slow: fewer writes, and the clock stays ahead of its answers.
    const leaseMs = Math.min(MAX_LEASE_MS, Math.max(LEASE_MS, 2 * this.storeRoundTripMs));
    const tokens = Math.max(1, Math.min(wanted, Math.ceil((rate * leaseMs) / 1000)));
    const durationUs = Math.ceil((tokens * 1e6) / rate);
    for (;;) {
      const now = this.clock.now();
      if (now > latestStartMs) {
        this.closed = { reason: 'deadline', retryAfterMs: 0 };
        return undefined;
      }
      // The earliest start that is still ahead when the answer arrives.
      const earliestUs = Math.floor((now + this.storeRoundTripMs) * 1000);
      // An idle clock (as last seen by this container) is restarted at once: one write, not a refused extend, a read and a restart.
      const lastSeen = this.options.store.lastSeen?.reservedUntilUs;
      if (lastSeen !== undefined && lastSeen < earliestUs) {
        const restarted = await this.write({ kind: 'restart', startUs: earliestUs, durationUs });
        if (restarted.applied) return leaseEndingAt(restarted.item.reservedUntilUs!, durationUs, tokens);
        if (restarted.item.reservedUntilUs !== undefined && restarted.item.reservedUntilUs < earliestUs) continue;
      }
      const extended = await this.write({
        kind: 'extend',
        durationUs,
        notBeforeUs: earliestUs,
        notAfterUs: Math.floor(latestStartMs * 1000),
      });
      if (extended.applied) return leaseEndingAt(extended.item.reservedUntilUs!, durationUs, tokens);
      const { reservedUntilUs } = extended.item;
      if (reservedUntilUs === undefined || reservedUntilUs < earliestUs) {
        const restarted = await this.write({ kind: 'restart', startUs: earliestUs, durationUs });
        if (restarted.applied) return leaseEndingAt(restarted.item.reservedUntilUs!, durationUs, tokens);
        continue; // another consumer restarted the clock first: extend it
      }
      if (reservedUntilUs > latestStartMs * 1000) {
        this.closed = { reason: 'busy', retryAfterMs: Math.max(1_000, reservedUntilUs / 1000 - now) };
        return undefined;
      }
      // The clock moved between the refused write and the read (others leased): try again.
    }
  }
}

/** The signal window an instant (epoch ms) falls in. */
export const signalWindow = (nowMs: number): number => Math.floor(nowMs / SIGNAL_WINDOW_MS);

/** Calls per lease: LEASE_MS of the rate, at least one. */
export function leaseTokensFor(ratePerSecond: number): number {
  return Math.max(1, Math.ceil((ratePerSecond * LEASE_MS) / 1000));
}

function leaseEndingAt(reservedUntilUs: number, durationUs: number, tokens: number): Lease {
  return { startMs: (reservedUntilUs - durationUs) / 1000, endMs: reservedUntilUs / 1000, tokens, next: 0 };
}

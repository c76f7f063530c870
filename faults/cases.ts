/**
 * The fault matrix, one entry per case: the local stack's options that inject the
 * fault where AWS would produce it (error answers through the stack's fault proxies in front of
 * DynamoDB, SQS and @connections), or what happens to processes and clients while the broadcast
 * runs. Each entry is a factory, so every case starts with its own switches.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import {
  DescribeExecutionCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { readBroadcastStatus } from '../lib/broadcast-status';
import type { InjectedFault } from '../local/fault-proxy';
import type { LocalStack, LocalStackOptions } from '../local/stack';
import { type FaultClients, sleep } from './clients';
import { outcomeProblemsOf, type ReportedCounts } from './verdict';

/** What a case's hooks can see and do while its broadcast runs. */
export interface CaseContext {
  stack: LocalStack;
  clients: FaultClients;
  sfn: SFNClient;
  executionArn: string;
  /** Resolves once `fraction` of the clients owed the message got it (or the deadline passed). */
  deliveredTo(fraction: number): Promise<void>;
  /** True once every client owed the message and still open has it, or the execution ended, or the deadline passed. */
  settled(): Promise<boolean>;
  /** Waits until the execution (the broadcast's unless given) has ended and the shard queues are drained (or the deadline passed). */
  ended(executionArn?: string): Promise<void>;
  log(line: string): void;
}

export interface FaultCase {
  /** Short, unique, used by `--case`. */
  name: string;
  /** Options of this case's local stack (fault rules close over the case's own switches), or them for the case's client count. */
  stack?: Partial<LocalStackOptions> | ((clients: number) => Partial<LocalStackOptions>);
  /** Size of the broadcast message's padding in bytes (default 1 KiB). */
  messageBytes?: number;
  /** The fault, run from the moment the broadcast starts. */
  during?(run: CaseContext): Promise<void>;
  /** Run after the broadcast ended, before measuring (the redrive, or the replays: then it says which execution to judge). */
  after?(run: CaseContext): Promise<ReplayedOutcome | void>;
  /** Duplicates the case tolerates, set by the fault itself (the consumer kill); 0 by default. */
  duplicatesAllowed: number;
}

/**
 * The stack every case runs on: few enough partitions and small enough messages and batches
 * that a few thousand clients spread over several map children, shards and batches.
 */
export const MATRIX_CONFIG: NonNullable<LocalStackOptions['config']> = {
  partitions: 40,
  partitionsPerChild: 4,
  shards: 4,
  connectionIdsPerMessage: 20,
  consumerBatchSize: 5,
};

/** How long each outage lasts. */
const OUTAGE_MS = 20_000;
/** How long slow readers stop reading. */
const SLOW_READER_PAUSE_MS = 15_000;
/** Churn per second, each way. */
const CHURN_PER_SECOND = 200;
const CHURN_TICK_MS = 100;
/** Churn lasts at most this long: 2,000 connects and 2,000 disconnects. */
const CHURN_MS = 10_000;

const DYNAMODB_THROTTLED: InjectedFault = {
  statusCode: 400,
  errorType: 'ProvisionedThroughputExceededException',
  message: 'injected: throughput exceeds the table provisioned throughput',
};
const DYNAMODB_DOWN: InjectedFault = {
  statusCode: 503,
  errorType: 'ServiceUnavailable',
  message: 'injected: DynamoDB is unavailable',
};
const SQS_DOWN: InjectedFault = {
  statusCode: 503,
  errorType: 'ServiceUnavailable',
  message: 'injected: SQS is unavailable',
};
const QUERY_DENIED: InjectedFault = {
  statusCode: 400,
  errorType: 'AccessDeniedException',
  message: 'injected: not authorized to query this partition',
};

/** An outage switch: `during` turns it on for OUTAGE_MS once the broadcast is delivering. */
function outage(name: string, service: 'dynamoDbFaults' | 'sqsFaults', fault: InjectedFault): FaultCase {
  let down = false;
  return {
    name,
    duplicatesAllowed: 0,
    stack: { [service]: () => (down ? fault : undefined) },
    async during(run) {
      await run.deliveredTo(0.001);
      run.log(`${service}: down for ${OUTAGE_MS} ms`);
      down = true;
      await sleep(OUTAGE_MS);
      down = false;
      run.log(`${service}: back`);
    },
  };
}

/** What a case that replays its broadcast measured of it: see CaseMeasurement's `outcome`. */
export interface ReplayedOutcome {
  /** The last replay: its status is the case's. */
  executionArn: string;
  outcome: string;
  outcomeProblems: string[];
}

/** The delivery deadline of the cases that outlive it (the least deliveryTimeoutSeconds allows). */
const SHORT_DEADLINE_SECONDS = 10;
/** How long a client may take to read a message its post was answered for. */
const LATE_READ_MS = 5_000;
/** Failed-socket replays a case makes at most before it is judged on the last one. */
const MAX_REPLAYS = 3;

interface ReplayOptions {
  /** The failure reasons the case expects; a socket failed for another is an untrue outcome. */
  reasons: readonly string[];
  /** The case's own expectations of the counts: what is wrong with them. */
  check?: (reported: ReportedCounts) => string[];
  /** Fixes the cause before the replays. */
  fix?: () => void;
}

/**
 * Checks the ended broadcast's counts (as `swarmcast status` shows them) against what its clients
 * saw, then replays its failed sockets, as `swarmcast replay` does, until a replay succeeds.
 */
async function checkThenReplay(
  run: CaseContext,
  { reasons, check = () => [], fix }: ReplayOptions,
): Promise<ReplayedOutcome> {
  const broadcastId = run.executionArn.slice(run.executionArn.lastIndexOf(':') + 1);
  const target = {
    where: 'local' as const,
    sfn: run.sfn,
    stateMachineArn: run.stack.stateMachineArn,
    description: "the case's local stack",
    pollIntervalMs: 200,
  };
  const ended = await readBroadcastStatus(target, broadcastId, { withReplays: false });
  // A post is answered once the gateway has written it: its client may read it moments later.
  const readBy = Date.now() + LATE_READ_MS;
  while (run.clients.report().delivered < (ended.delivery?.delivered ?? 0) && Date.now() < readBy) await sleep(50);
  const outcomeProblems = [
    ...outcomeProblemsOf(ended.delivery, run.clients.report(), reasons),
    ...(ended.delivery ? check(ended.delivery) : []),
  ];
  const reasonsText = Object.entries(ended.delivery?.failedBy ?? {})
    .map(([reason, count]) => `${count} ${reason}`)
    .join(', ');
  let outcome = `${ended.status}${ended.error ? ` ${ended.error}` : ''} (${ended.delivery?.delivered ?? '?'} delivered, ${ended.delivery?.failed ?? '?'} failed${reasonsText ? `: ${reasonsText}` : ''})`;
  run.log(`broadcast: ${outcome}${outcomeProblems.length > 0 ? `; untrue: ${outcomeProblems.join('; ')}` : ''}`);
  fix?.();
  let executionArn = run.executionArn;
  for (let replay = 1; ended.status !== 'SUCCEEDED' && replay <= MAX_REPLAYS; replay++) {
    const started = await run.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: run.stack.stateMachineArn,
        name: `${broadcastId}-replay-${replay}`,
        input: JSON.stringify({ broadcastId, failedSockets: true }),
      }),
    );
    executionArn = started.executionArn!;
    await run.ended(executionArn);
    const { status, error } = await run.sfn.send(new DescribeExecutionCommand({ executionArn }));
    run.log(`replay ${replay}: ${status}${error ? ` ${error}` : ''}`);
    outcome = `${outcome}, replay ${replay} ${status}`;
    if (status === 'SUCCEEDED') break;
  }
  return { executionArn, outcome, outcomeProblems };
}

/** Pids of this process's children whose command line contains `fragment` (a worker or function instance it forked). */
function childPids(fragment: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(
        readFileSync(`/proc/${entry}/stat`, 'utf8')
          .replace(/^.*\) /s, '')
          .split(' ')[1],
      );
      if (parent === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(fragment))
        pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export const FAULT_CASES: readonly (() => FaultCase)[] = [
  () => ({
    name: 'no-fault',
    duplicatesAllowed: 0,
  }),
  () => ({
    name: 'dynamodb-throttling-30pct',
    duplicatesAllowed: 0,
    stack: { dynamoDbFaults: () => (Math.random() < 0.3 ? DYNAMODB_THROTTLED : undefined) },
  }),
  () => outage('dynamodb-down-20s', 'dynamoDbFaults', DYNAMODB_DOWN),
  () => outage('sqs-down-20s', 'sqsFaults', SQS_DOWN),
  () => ({
    name: 'connections-429-30pct-5xx-10pct',
    duplicatesAllowed: 0,
    stack: {
      connectionsFaults: (method) => {
        if (method !== 'POST') return undefined;
        const draw = Math.random();
        return draw < 0.3 ? 429 : draw < 0.4 ? 500 : undefined;
      },
    },
  }),
  () => ({
    name: 'clients-gone-20pct',
    duplicatesAllowed: 0,
    async during(run) {
      await run.deliveredTo(0.1);
      const gone = Math.round(run.clients.expectedCount * 0.2);
      run.log(`clients: ${gone} vanish without a close frame`);
      run.clients.vanish(gone);
    },
  }),
  () => ({
    name: 'churn-200-per-s',
    duplicatesAllowed: 0,
    async during(run) {
      const perTick = (CHURN_PER_SECOND * CHURN_TICK_MS) / 1000;
      const joining: Promise<void>[] = [];
      // Bounded: churn for as long as the broadcast lasts on a free machine, so a slow one does not close every client it had.
      const stopAt = Date.now() + CHURN_MS;
      while (Date.now() < stopAt && !(await run.settled())) {
        run.clients.closeRandom(perTick);
        for (let i = 0; i < perTick; i++)
          joining.push(run.clients.openOne(Date.now() + 30_000).catch((error) => run.log(String(error))));
        await sleep(CHURN_TICK_MS);
      }
      await Promise.all(joining);
    },
  }),
  () => ({
    name: 'slow-readers-10pct',
    duplicatesAllowed: 0,
    // Large enough that a paused reader's buffers take a real share of the gateway's bound.
    messageBytes: 100 * 1024,
    async during(run) {
      const slow = run.clients.stopReading(Math.round(run.clients.expectedCount * 0.1));
      run.log(`clients: ${slow.length} stop reading for ${SLOW_READER_PAUSE_MS} ms`);
      await sleep(SLOW_READER_PAUSE_MS);
      for (const socket of slow) socket.resume();
    },
  }),
  () => {
    const fault: FaultCase = {
      name: 'consumer-killed-mid-batch',
      duplicatesAllowed: 0,
      async during(run) {
        await run.deliveredTo(0.25);
        // Instances run the handler's bundle (local/lambda/bundle.ts): its file is named after the function.
        const [pid] = childPids('/post-message-');
        if (!pid) throw new Error("no post-message instance among this process's children");
        const { consumerBatchSize, connectionIdsPerMessage } = run.stack.config;
        // At least once: the batches the kill cuts short come back, and may repeat what they had sent.
        const inFlight = Math.max(1, run.stack.consumers.stats().inFlightInvocations);
        fault.duplicatesAllowed = inFlight * consumerBatchSize * connectionIdsPerMessage;
        run.log(`post-message instance ${pid} killed with ${inFlight} batch(es) in flight`);
        process.kill(pid, 'SIGKILL');
      },
    };
    return fault;
  },
  () => {
    // Every fifth partition's Query is refused: well past the default 1 % tolerance of the map.
    let refusing = true;
    return {
      name: 'map-children-fail-then-redrive',
      duplicatesAllowed: 0,
      stack: {
        dynamoDbFaults: (operation, input) => {
          const partition = (input.ExpressionAttributeValues as Record<string, { N?: string }> | undefined)?.[
            ':partition'
          ]?.N;
          return refusing && operation === 'Query' && partition !== undefined && Number(partition) % 5 === 0
            ? QUERY_DENIED
            : undefined;
        },
      },
      async after(run) {
        run.log('map: cause fixed, redriving');
        refusing = false;
        await run.sfn.send(new RedriveExecutionCommand({ executionArn: run.executionArn }));
        await run.ended();
      },
    };
  },
  () => ({
    // A quota that delivers to the clients in 1.5 × the deadline (the default budget far above it, as
    // a new user's would be): about a third fail at the deadline. Handshakes draw on it too.
    name: 'quota-below-the-deadline',
    duplicatesAllowed: 0,
    stack: (clients) => {
      const ratePerSecond = Math.max(2, Math.ceil(clients / (1.5 * SHORT_DEADLINE_SECONDS)));
      return {
        quota: { ratePerSecond, burst: Math.ceil(ratePerSecond / 2) },
        connectRate: 'off',
        config: { deliveryTimeoutSeconds: SHORT_DEADLINE_SECONDS },
      };
    },
    after: (run) => checkThenReplay(run, { reasons: ['deadline', 'throttled'] }),
  }),
  () => {
    // One socket in ten answers 429 to every post, as API Gateway does while a client's buffer is full,
    // until the broadcast has ended; the healthy ones beside them must all get it in time.
    let slowReading = true;
    const slow = new Set<string>();
    const isSlow = (connectionId: string) => createHash('sha256').update(connectionId).digest()[0] % 10 === 0;
    return {
      name: 'slow-readers-beside-healthy',
      duplicatesAllowed: 0,
      stack: {
        config: { deliveryTimeoutSeconds: SHORT_DEADLINE_SECONDS },
        connectionsFaults: (method, connectionId) => {
          if (method !== 'POST' || !slowReading || !isSlow(connectionId)) return undefined;
          slow.add(connectionId);
          return 429;
        },
      },
      after: (run) =>
        checkThenReplay(run, {
          reasons: ['slowReader'],
          check: ({ failed }) => (failed === slow.size ? [] : [`${failed} failed, ${slow.size} slow readers`]),
          fix: () => (slowReading = false),
        }),
    };
  },
  () => ({
    name: 'gateway-worker-killed',
    duplicatesAllowed: 0,
    stack: { gatewayWorkers: 2 },
    async during(run) {
      await run.deliveredTo(0.25);
      const [pid] = childPids('local/gateway/worker.ts');
      if (!pid) throw new Error("no gateway worker among this process's children");
      run.log(`gateway worker ${pid} killed`);
      process.kill(pid, 'SIGKILL');
    },
  }),
];

/**
 * The fault matrix, one entry per case: the local stack's options that inject the
 * fault where AWS would produce it (error answers through the stack's fault proxies in front of
 * DynamoDB, SQS and @connections), or what happens to processes and clients while the broadcast
 * runs. Each entry is a factory, so every case starts with its own switches.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { RedriveExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { InjectedFault } from '../local/fault-proxy';
import type { LocalStack, LocalStackOptions } from '../local/stack';
import { type FaultClients, sleep } from './clients';

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
  /** Waits until the execution has ended and the shard queues are drained (or the deadline passed). */
  ended(): Promise<void>;
  log(line: string): void;
}

export interface FaultCase {
  /** Short, unique, used by `--case`. */
  name: string;
  /** Options of this case's local stack (fault rules close over the case's own switches). */
  stack?: Partial<LocalStackOptions>;
  /** Size of the broadcast message's padding in bytes (default 1 KiB). */
  messageBytes?: number;
  /** The fault, run from the moment the broadcast starts. */
  during?(run: CaseContext): Promise<void>;
  /** Run after the broadcast ended, before measuring (the redrive). */
  after?(run: CaseContext): Promise<void>;
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

const DYNAMODB_THROTTLED: InjectedFault = { statusCode: 400, errorType: 'ProvisionedThroughputExceededException', message: 'injected: throughput exceeds the table provisioned throughput' };
const DYNAMODB_DOWN: InjectedFault = { statusCode: 503, errorType: 'ServiceUnavailable', message: 'injected: DynamoDB is unavailable' };
const SQS_DOWN: InjectedFault = { statusCode: 503, errorType: 'ServiceUnavailable', message: 'injected: SQS is unavailable' };
const QUERY_DENIED: InjectedFault = { statusCode: 400, errorType: 'AccessDeniedException', message: 'injected: not authorized to query this partition' };

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

/** Pids of this process's children whose command line contains `fragment` (a worker or function instance it forked). */
function childPids(fragment: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
      if (parent === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(fragment)) pids.push(Number(entry));
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
        for (let i = 0; i < perTick; i++) joining.push(run.clients.openOne(Date.now() + 30_000).catch((error) => run.log(String(error))));
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
        const [pid] = childPids('functions/post-message.ts');
        if (!pid) throw new Error('no post-message instance among this process\'s children');
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
          const partition = (input.ExpressionAttributeValues as Record<string, { N?: string }> | undefined)?.[':partition']?.N;
          return refusing && operation === 'Query' && partition !== undefined && Number(partition) % 5 === 0 ? QUERY_DENIED : undefined;
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
    name: 'gateway-worker-killed',
    duplicatesAllowed: 0,
    stack: { gatewayWorkers: 2 },
    async during(run) {
      await run.deliveredTo(0.25);
      const [pid] = childPids('local/gateway/worker.ts');
      if (!pid) throw new Error('no gateway worker among this process\'s children');
      run.log(`gateway worker ${pid} killed`);
      process.kill(pid, 'SIGKILL');
    },
  }),
];

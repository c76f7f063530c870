/**
 * The local Lambda runtime: each function gets exactly its catalog entry's environment (a handler
 * reading a variable its entry does not list fails to start, as on AWS), the gateway's route
 * functions included; an instance runs one invocation at a time; and each stack gets its own
 * handler instances, so stacks start and stop one after another in one process.
 */
import path from 'node:path';
import { resolveConfig } from '../../../infra/config';
import type { FunctionName } from '../../../functions/catalog';
import { runDemo } from '../../../local/demo';
import { functionEnvironment, type LocalResources } from '../../../local/environment';
import { startFunctionInstance } from '../../../local/lambda/function-instance';
import { lambdaContext } from '../../../local/lambda/context';
import { startLocalFunction } from '../../../local/lambda/local-function';
import { handlerModule } from '../../../local/lambdas';
import { startGateway } from '../../../local/gateway';
import WebSocket from 'ws';

jest.setTimeout(600_000);

const resources: LocalResources = {
  region: 'us-east-1',
  dynamoDbEndpoint: 'http://127.0.0.1:1',
  sqsEndpoint: 'http://127.0.0.1:1',
  tableNames: { Connections: 'c', Broadcasts: 'b', RateBudget: 'r', Subscriptions: 's' },
  shardQueueUrls: ['http://127.0.0.1:1/000000000000/swarmcast-shard-0'],
  connectionsEndpoint: 'http://127.0.0.1:1/local',
};

describe('each function sees exactly its catalog environment', () => {
  it('a handler reading a variable outside its entry fails to start', async () => {
    const env = functionEnvironment('read-progress', resolveConfig(), resources);
    await expect(
      startFunctionInstance({
        name: 'read-progress',
        modulePath: path.join(__dirname, '../fixtures/lambda/reads-connections-table.ts'),
        env,
      }),
    ).rejects.toThrow(/failed to start: CONNECTIONS_TABLE is not set/);
  });

  it('the same handler starts and answers where its entry lists the variable', async () => {
    const env = functionEnvironment('connect', resolveConfig(), resources);
    const instance = await startFunctionInstance({
      name: 'connect',
      modulePath: path.join(__dirname, '../fixtures/lambda/reads-connections-table.ts'),
      env,
    });
    try {
      await expect(
        instance.handler({}, lambdaContext({ functionName: 'swarmcast-connect', timeoutSeconds: 10 })),
      ).resolves.toEqual({ table: 'c' });
    } finally {
      await instance.stop();
    }
  });

  it('every real handler starts with its own environment and answers from its process until stopped', async () => {
    // Inputs each handler answers from its own code and environment: a refusal, an empty batch, or
    // DynamoDB unreachable at the environment's endpoint (127.0.0.1:1 here).
    const cases: [FunctionName, unknown, unknown][] = [
      ['prepare-broadcast', {}, expect.stringMatching(/^InvalidBroadcastError: the input must be a JSON object/)],
      [
        'query-partitions',
        { Items: [0], BatchInput: { broadcastId: 'b-1', kind: 'message' } },
        expect.stringMatching(/^UnavailableError: .*ECONNREFUSED 127\.0\.0\.1:1/),
      ],
      [
        'read-progress',
        { broadcastId: 'b-1' },
        expect.stringMatching(
          /^UnavailableError: DynamoDB did not answer the progress read of broadcast b-1: connect ECONNREFUSED 127\.0\.0\.1:1/,
        ),
      ],
      ['post-message', { Records: [] }, { batchItemFailures: [] }],
    ];
    for (const [name, event, expected] of cases) {
      const instance = await startFunctionInstance({
        name,
        modulePath: handlerModule(name),
        env: functionEnvironment(name, resolveConfig(), resources),
      });
      try {
        expect(instance.running).toBe(true);
        const answer = await instance
          .handler(event, lambdaContext({ functionName: `swarmcast-${name}`, timeoutSeconds: 10 }))
          .then(
            (result) => result,
            (error: Error) => `${error.name}: ${error.message}`,
          );
        expect([name, answer]).toEqual([name, expected]);
      } finally {
        await instance.stop();
      }
      expect(instance.running).toBe(false);
    }
  });
});

describe('the gateway routes run in the same runtime', () => {
  const readsConnectionsTable = path.join(__dirname, '../fixtures/lambda/reads-connections-table.ts');
  const routeEnv = (route: 'connect' | 'default') => functionEnvironment(route, resolveConfig(), resources);

  it('a route function reading a variable outside its entry fails the gateway start', async () => {
    // Before, one worker process held the union of the routes' environments, and $default saw CONNECTIONS_TABLE.
    await expect(
      startGateway({
        handlers: { connect: handlerModule('connect'), default: readsConnectionsTable },
        routeEnv: { connect: routeEnv('connect'), default: routeEnv('default') },
      }),
    ).rejects.toThrow(/swarmcast-reads-connections-table failed to start: CONNECTIONS_TABLE is not set/);
  });

  it('the same handler behind $connect, whose entry lists the variable, accepts clients', async () => {
    const gateway = await startGateway({
      handlers: { connect: readsConnectionsTable },
      routeEnv: { connect: routeEnv('connect') },
    });
    try {
      const client = new WebSocket(gateway.webSocketUrl);
      await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
      // The handshake completed only after $connect answered: the gateway counts it accepted and holds the socket.
      const stats = await gateway.stats();
      expect(stats.connections).toBe(1);
      expect(stats.workers.reduce((sum, worker) => sum + worker.connectsAccepted, 0)).toBe(1);
      client.close();
    } finally {
      await gateway.stop();
    }
  });
});

describe('an instance runs one invocation at a time', () => {
  it('concurrent invocations spread over at most maxInstances processes, never overlapping in one', async () => {
    const lambda = await startLocalFunction({
      name: 'overlap',
      modulePath: path.join(__dirname, '../fixtures/lambda/reports-overlap.ts'),
      env: {},
      maxInstances: 2,
    });
    try {
      const context = lambdaContext({ functionName: 'overlap', timeoutSeconds: 60 });
      const results = (await Promise.all(Array.from({ length: 8 }, () => lambda.handler({}, context)))) as {
        overlapping: number;
        pid: number;
      }[];
      expect(results.map((result) => result.overlapping)).toEqual(Array(8).fill(1));
      expect(new Set(results.map((result) => result.pid)).size).toBeLessThanOrEqual(2);
      expect(lambda.instances).toBeLessThanOrEqual(2);
    } finally {
      await lambda.stop();
    }
  });
});

describe('an instance that dies', () => {
  it('fails the invocation it was given, and the next one runs on a fresh instance', async () => {
    const lambda = await startLocalFunction({
      name: 'dies',
      modulePath: path.join(__dirname, '../fixtures/lambda/reports-overlap.ts'),
      env: {},
      maxInstances: 1,
    });
    try {
      const context = lambdaContext({ functionName: 'dies', timeoutSeconds: 60 });
      const first = (await lambda.handler({}, context)) as { pid: number };
      process.kill(first.pid, 'SIGKILL'); // this test's own child
      await expect(lambda.handler({}, context)).rejects.toThrow(/^function dies (exited|is not running)/);
      const next = (await lambda.handler({}, context)) as { pid: number };
      expect(next.pid).not.toBe(first.pid);
    } finally {
      await lambda.stop();
    }
  });
});

describe('stacks in one process', () => {
  it('two local stacks, one after the other, each deliver their broadcast exactly once', async () => {
    // 20 partitions: the point is two stacks in one process, not the default's 2,500 Queries each.
    for (const run of [1, 2]) {
      const summary = await runDemo({ clients: 20, config: { partitions: 20 } });
      expect({ run, received: summary.received, duplicates: summary.duplicates }).toEqual({
        run,
        received: 20,
        duplicates: 0,
      });
    }
  });
});

/**
 * Local Step Functions: the ASL files of statemachines/ run on aws-local-stepfunctions, with
 * Lambda tasks served by the local Lambda runtime (local/lambda/) and Distributed Map semantics of our own,
 * behind a loopback server that speaks the Step Functions API to the real SDK client.
 *
 *   const sfn = await startStepFunctions({ lambdas, waitOverrideMs: 200 });
 *   const stateMachineArn = sfn.registerStateMachine({ name: 'broadcast', definitionFile: aslPath, substitutions });
 *   new SFNClient({ endpoint: sfn.endpoint, region: 'us-east-1', credentials })
 */
import type { AddressInfo } from 'node:net';
import type { LambdaRegistry } from './lambda-invoke';
import { createStepFunctionsServer } from './server';
import { StepFunctionsService, type StateMachineRegistration } from './service';

export { LOCAL_ACCOUNT, LOCAL_REGION, stateMachineArn } from './arns';
export { resolveFunctionArn, type LambdaHandler, type LambdaRegistry } from './lambda-invoke';
export type { StateMachineRegistration } from './service';

export interface StepFunctionsOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Loopback only: callers sign with the local credentials (lib/local-account.ts), nothing more. */
  host?: string;
  /** Handlers by function ARN; `lambda:invoke` tasks are routed by their FunctionName. */
  lambdas: LambdaRegistry;
  /** Fixed pause of Wait states in ms (one for all, or per state name) instead of their seconds. */
  waitOverrideMs?: number | Record<string, number>;
  /** Fixed pause before every Retry attempt, in ms, instead of IntervalSeconds/BackoffRate. */
  retryOverrideMs?: number;
  /** Events an execution's history may hold before it fails (default AWS's 25,000); tests lower it to reach it quickly. */
  historyEventLimit?: number;
  /** Finished executions kept in memory, the newest (default 100; AWS keeps them 90 days): a long-running stack stays bounded. */
  keepFinishedExecutions?: number;
}

export interface LocalStepFunctions {
  endpoint: string;
  port: number;
  /** Registers (or replaces) a state machine; returns its ARN. */
  registerStateMachine(registration: StateMachineRegistration): string;
  /** Executions held in memory, Map Run children included (what keepFinishedExecutions bounds). */
  executionCount(): number;
  /** Aborts running executions and closes the server. */
  stop(): Promise<void>;
}

export async function startStepFunctions(options: StepFunctionsOptions): Promise<LocalStepFunctions> {
  const host = options.host ?? '127.0.0.1';
  if (!/^127\.|^localhost$|^::1$/.test(host))
    throw new Error(`The local Step Functions listen on loopback only, not ${host}`);
  const service = new StepFunctionsService(options);
  const server = createStepFunctionsServer(service);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    registerStateMachine: (registration) => service.registerStateMachine(registration),
    executionCount: () => service.executions.size,
    stop: async () => {
      await service.stopAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

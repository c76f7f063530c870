import path from 'node:path';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './local-account';

/** The Lambda functions of the stack, by the name both the CDK stack and the local stack use. */
export const FUNCTION_NAMES = ['connect', 'disconnect', 'default', 'prepare-broadcast', 'query-partitions', 'read-progress', 'post-message'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];


export const functionArn = (name: FunctionName): string => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:swarmcast-${name}`;
export const handlerModule = (name: FunctionName): string => path.join(__dirname, '..', 'functions', `${name}.ts`);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LambdaHandler = (event: any, context: any) => Promise<any>;

/**
 * Loads handlers in this process, as Lambda would on a cold start: their configuration is
 * read from process.env when the module loads, so the environment must be set first.
 */
export async function loadHandlers<N extends FunctionName>(names: readonly N[]): Promise<Record<N, LambdaHandler>> {
  const entries = await Promise.all(names.map(async (name) => [name, ((await import(handlerModule(name))) as { handler: LambdaHandler }).handler] as const));
  return Object.fromEntries(entries) as Record<N, LambdaHandler>;
}

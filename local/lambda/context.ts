/** The one Lambda Context the local runtime hands a handler: the stack's account and Region, a clock from the start of the invocation. */
import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../lib/local-account';

export interface ContextOptions {
  functionName: string;
  timeoutSeconds: number;
  awsRequestId?: string;
  region?: string;
  accountId?: string;
}

export function lambdaContext({
  functionName,
  timeoutSeconds,
  awsRequestId = randomUUID(),
  region = LOCAL_REGION,
  accountId = LOCAL_ACCOUNT,
}: ContextOptions): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const unsupported = () => {
    throw new Error('callback-style Context methods are not supported: return a Promise from the handler');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

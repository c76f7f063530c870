import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

/** A Lambda Context for an in-process invocation; the clock runs from the start of the invocation. */
export function lambdaContext({ functionName, region, accountId, timeoutSeconds }: { functionName: string; region: string; accountId: string; timeoutSeconds: number }): Context {
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
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/**
 * The `arn:aws:states:::lambda:invoke` integration, served by the local Lambda runtime (local/lambda/).
 * Results and errors take the shapes AWS gives them, so the ASL's OutputPath/ResultSelector
 * and Retry/Catch on error names behave as they do on AWS.
 */
import type { Context } from 'aws-lambda';
import { lambdaContext } from '../lambda/context';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './arns';

export type LambdaHandler = (event: any, context: Context) => Promise<unknown>;
/** Handlers keyed by function ARN (arn:aws:lambda:us-east-1:000000000000:function:swarmcast-<name>). */
export type LambdaRegistry = Map<string, LambdaHandler>;

export const LAMBDA_INVOKE_RESOURCE = 'arn:aws:states:::lambda:invoke';
/** Lambda's own upper bound on a run: the local Task timeout when the ASL sets none. */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/** A handler failure as Step Functions sees it: Error = errorType, Cause = the Lambda error JSON. */
export class LambdaTaskError extends Error {
  constructor(errorType: string, cause: string) {
    super(cause);
    this.name = errorType;
  }

  static fromHandlerError(err: unknown): LambdaTaskError {
    const errorType = err instanceof Error ? err.name : 'Error';
    const errorMessage = err instanceof Error ? err.message : String(err);
    return new LambdaTaskError(errorType, JSON.stringify({ errorMessage, errorType, trace: [] }));
  }
}

export interface LambdaInvokeParameters {
  FunctionName: string;
  Payload?: unknown;
}

export interface LambdaInvokeResult {
  ExecutedVersion: string;
  Payload: unknown;
  StatusCode: number;
  SdkHttpMetadata: {
    AllHttpHeaders: Record<string, string[]>;
    HttpHeaders: Record<string, string>;
    HttpStatusCode: number;
  };
  SdkResponseMetadata: { RequestId: string };
}

/**
 * FunctionName may be a name, a full ARN or a partial ARN, with or without a qualifier
 * (as Lambda accepts): all resolve to the unqualified function ARN of the registry.
 */
export function resolveFunctionArn(functionName: string): string {
  const parts = functionName.split(':');
  if (parts[0] === 'arn') return parts.slice(0, 7).join(':');
  if (parts.length >= 3 && parts[1] === 'function')
    return `arn:aws:lambda:${LOCAL_REGION}:${parts[0]}:function:${parts[2]}`;
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${parts[0]}`;
}

/** A JSON round trip, as the real payload takes: no shared references, Dates become strings. */
const overTheWire = (value: unknown): unknown => (value === undefined ? null : JSON.parse(JSON.stringify(value)));

export async function invokeLambda(
  lambdas: LambdaRegistry,
  parameters: LambdaInvokeParameters,
): Promise<LambdaInvokeResult> {
  const functionArn = resolveFunctionArn(String(parameters.FunctionName));
  const handler = lambdas.get(functionArn);
  if (!handler) {
    throw new LambdaTaskError(
      'Lambda.ResourceNotFoundException',
      `Function not found: ${functionArn} (Service: Lambda, Status Code: 404, Request ID: local)`,
    );
  }
  const [, , , region, accountId, , functionName] = functionArn.split(':');
  const context = lambdaContext({ functionName, region, accountId, timeoutSeconds: LAMBDA_MAX_TIMEOUT_SECONDS });
  let payload: unknown;
  try {
    payload = await handler(overTheWire(parameters.Payload ?? {}), context);
  } catch (err) {
    throw LambdaTaskError.fromHandlerError(err);
  }
  const headers = {
    'Content-Type': 'application/json',
    'X-Amz-Executed-Version': '$LATEST',
    'x-amzn-RequestId': context.awsRequestId,
  };
  return {
    ExecutedVersion: '$LATEST',
    Payload: overTheWire(payload),
    StatusCode: 200,
    SdkHttpMetadata: {
      AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      HttpHeaders: headers,
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: context.awsRequestId },
  };
}

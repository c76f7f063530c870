/**
 * What the library and the CLI say when something goes wrong: SwarmcastError, one line a person can
 * act on, and explainError, which turns AWS SDK and network errors into one.
 */

/** An error a person can act on: one line saying what is wrong and what to do; no stack trace. */
export class SwarmcastError extends Error {
  override name = 'SwarmcastError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

type ErrorLike = Error & { code?: string; address?: string; port?: number; Code?: string };

const THROTTLED = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'TooManyRequests',
  'RequestLimitExceeded',
]);
const CREDENTIALS_REJECTED = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'IncompleteSignature',
]);
const SESSION_EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired']);

/** The execution name in an SDK message like "Execution Does Not Exist: 'arn:…:execution:<machine>:<name>'". */
function executionNameIn(message: string): string | undefined {
  return /:execution:[^:'\s]+:([^:'\s]+)/.exec(message)?.[1];
}

/**
 * The one place AWS SDK and network errors become SwarmcastErrors a person can act on. Anything
 * not recognised is returned unchanged: main.ts then prints its message (the stack with --verbose).
 */
export function explainError(error: unknown): unknown {
  if (error instanceof SwarmcastError || !(error instanceof Error)) return error;
  const { name, message, code } = error as ErrorLike;

  if (name === 'ExecutionDoesNotExist') {
    const id = executionNameIn(message);
    return new SwarmcastError(
      `no broadcast or sweep ${id ? `with id "${id}" ` : ''}on this target; \`swarmcast list\` shows the recent ones`,
    );
  }
  if (name === 'StateMachineDoesNotExist') {
    return new SwarmcastError(`${message}; check --state-machine-arn, or deploy the stack (npx cdk deploy)`);
  }
  if (name === 'ValidationError' && /does not exist/.test(message)) {
    const stack = /Stack with id (\S+) does not exist/.exec(message)?.[1];
    return new SwarmcastError(
      `no CloudFormation stack ${stack ? `"${stack}" ` : ''}in this account and Region; deploy it (npx cdk deploy), pass --stack NAME or --state-machine-arn ARN, set AWS_REGION, or start \`swarmcast local\``,
    );
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new SwarmcastError(
      'no AWS credentials found: set AWS_PROFILE (after `aws sso login`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY — or run `swarmcast local` to work without AWS',
    );
  }
  if (/Region is missing/i.test(message)) {
    return new SwarmcastError('no AWS Region set: export AWS_REGION=<region> (or set a region in your AWS profile)');
  }
  if (SESSION_EXPIRED.has(name))
    return new SwarmcastError(
      'your AWS session has expired: log in again (e.g. `aws sso login`) and rerun the command',
    );
  if (CREDENTIALS_REJECTED.has(name))
    return new SwarmcastError(`AWS rejected the credentials (${name}): check AWS_PROFILE or the access keys in use`);
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return new SwarmcastError(
      `not allowed: ${message} — use credentials allowed to call Step Functions (states:*) and CloudFormation DescribeStacks`,
    );
  }
  if (THROTTLED.has(name)) {
    return new SwarmcastError(
      `AWS throttled the API calls (${name}) even after retries; wait a few seconds and rerun the command`,
    );
  }
  if (name === 'ExecutionAlreadyExists') {
    const id = executionNameIn(message);
    return new SwarmcastError(
      `an execution named ${id ? `"${id}" ` : ''}already exists (names are unique per state machine): give send another --id, or start the next sweep a second later`,
    );
  }
  if (name === 'ExecutionNotRedrivable') return new SwarmcastError(`cannot redrive: ${message}`);
  if (name === 'InvalidExecutionInput' || name === 'InvalidName' || name === 'InvalidArn')
    return new SwarmcastError(message);
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET') {
    const where = (error as ErrorLike).address
      ? `${(error as ErrorLike).address}:${(error as ErrorLike).port}`
      : 'the Step Functions API';
    return new SwarmcastError(
      `cannot reach ${where} (${code}): is \`swarmcast local\` still running? Otherwise check --endpoint`,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new SwarmcastError(`cannot resolve the AWS endpoint (${code}): check your network and AWS_REGION`);
  return error;
}

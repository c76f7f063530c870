import { ExecutionDoesNotExist, SFNServiceException } from '@aws-sdk/client-sfn';
import { CliError, explainError } from '../../../cli/errors';

const named = (name: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name, ...extra });
const throttled = (name: string) =>
  new SFNServiceException({ name, $fault: 'client', $metadata: {}, message: 'Rate exceeded' });

describe('explainError: SDK errors become one line saying what is wrong and what to do', () => {
  it.each([
    [
      new ExecutionDoesNotExist({
        $metadata: {},
        message: "Execution Does Not Exist: 'arn:aws:states:eu-west-1:123456789012:execution:Broadcast:b-1'",
      }),
      'no broadcast or sweep with id "b-1" on this target; `swarmcast list` shows the recent ones',
    ],
    [
      named('CredentialsProviderError', 'Could not load credentials from any providers'),
      /^no AWS credentials found: set AWS_PROFILE/,
    ],
    [named('Error', 'Could not load credentials from any providers'), /^no AWS credentials found/],
    [named('Error', 'Region is missing'), /^no AWS Region set: export AWS_REGION=<region>/],
    [
      throttled('ThrottlingException'),
      /^AWS throttled the API calls \(ThrottlingException\) even after retries; wait a few seconds/,
    ],
    [throttled('TooManyRequestsException'), /^AWS throttled the API calls \(TooManyRequestsException\)/],
    [
      named('ExpiredTokenException', 'The security token included in the request is expired'),
      /^your AWS session has expired/,
    ],
    [
      named('ExecutionNotRedrivable', 'Execution not redrivable: Execution is SUCCEEDED'),
      'cannot redrive: Execution not redrivable: Execution is SUCCEEDED',
    ],
    [
      named(
        'ExecutionAlreadyExists',
        "Execution Already Exists: 'arn:aws:states:eu-west-1:1:execution:m:sweep-20260101-000000'",
      ),
      /^an execution named "sweep-20260101-000000" already exists/,
    ],
    [
      named('Error', 'connect ECONNREFUSED 127.0.0.1:7701', { code: 'ECONNREFUSED', address: '127.0.0.1', port: 7701 }),
      /^cannot reach 127\.0\.0\.1:7701 \(ECONNREFUSED\): is `swarmcast local` still running\?/,
    ],
  ])('%s', (error, expected) => {
    const shown = explainError(error);

    expect(shown).toBeInstanceOf(CliError);
    expect((shown as CliError).exitCode).toBe(1);
    expect((shown as CliError).message).toEqual(
      typeof expected === 'string' ? expected : expect.stringMatching(expected),
    );
    expect((shown as CliError).message).not.toContain('\n');
  });

  it('leaves errors it does not know, and CliErrors, as they are', () => {
    const unknown = new TypeError('something else');
    const cliError = new CliError('already clear');

    expect(explainError(unknown)).toBe(unknown);
    expect(explainError(cliError)).toBe(cliError);
  });
});

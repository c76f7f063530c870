/**
 * How the local lambda:invoke integration names a handler's failure (local/stepfunctions/lambda-invoke.ts):
 * by the error's own name, as AWS does, so the ASL's Retry on ThrottledError or UnavailableError
 * matches it; a generic States.TaskFailed would match no Retry and fail the execution at once.
 */
import {
  invokeLambda,
  LambdaTaskError,
  resolveFunctionArn,
  type LambdaRegistry,
} from '../../../../local/stepfunctions/lambda-invoke';
import { ThrottledError } from '#commons/errors';

const arn = resolveFunctionArn('swarmcast-query-partitions');
const registryWith = (handler: () => Promise<unknown>): LambdaRegistry => new Map([[arn, handler]]);

test("a handler's error becomes the Task's error by its name, with Lambda's error JSON as the cause", async () => {
  const failure = invokeLambda(
    registryWith(async () => Promise.reject(new ThrottledError('DynamoDB throttled the enqueued counts 4 times'))),
    { FunctionName: arn },
  );

  await expect(failure).rejects.toBeInstanceOf(LambdaTaskError);
  await expect(failure).rejects.toMatchObject({ name: 'ThrottledError' });
  const cause = JSON.parse(((await failure.catch((error: unknown) => error)) as Error).message);
  expect(cause).toEqual({
    errorMessage: 'DynamoDB throttled the enqueued counts 4 times',
    errorType: 'ThrottledError',
    trace: [],
  });
});

test('something thrown that is not an Error is named Error; a function that does not exist, Lambda.ResourceNotFoundException', async () => {
  await expect(
    invokeLambda(
      registryWith(async () => Promise.reject('plain string')),
      { FunctionName: arn },
    ),
  ).rejects.toMatchObject({ name: 'Error' });
  await expect(invokeLambda(new Map(), { FunctionName: 'swarmcast-missing' })).rejects.toMatchObject({
    name: 'Lambda.ResourceNotFoundException',
  });
});

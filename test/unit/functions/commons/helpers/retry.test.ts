/** The one retry loop (functions/commons/helpers/retry.ts): which errors it retries, how often, and what it leaves. */
import { ThrottledError } from '#commons/errors';
import { retryUnprocessed, retryWithBackoff, THROTTLED_DYNAMODB_CALLS } from '#commons/helpers/retry';

const throttled = () => Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });

beforeEach(() => jest.spyOn(Math, 'random').mockReturnValue(0)); // no backoff waits
afterEach(() => jest.restoreAllMocks());

test('a throttled call is tried again until it succeeds', async () => {
  const call = jest.fn().mockRejectedValueOnce(throttled()).mockRejectedValueOnce(throttled()).mockResolvedValue('ok');

  await expect(retryWithBackoff('the plan', call)).resolves.toBe('ok');

  expect(call).toHaveBeenCalledTimes(3);
});

test('throttled on every try, it ends in ThrottledError naming what was throttled', async () => {
  const call = jest.fn().mockRejectedValue(throttled());

  const error = await retryWithBackoff('the plan of broadcast b-1', call).catch((thrown: unknown) => thrown);

  expect(error).toBeInstanceOf(ThrottledError);
  expect((error as Error).message).toBe('DynamoDB throttled the plan of broadcast b-1 4 times');
  expect(call).toHaveBeenCalledTimes(THROTTLED_DYNAMODB_CALLS.attempts);
});

test('an error the policy does not retry is thrown at once', async () => {
  const call = jest.fn().mockRejectedValue(new Error('ValidationException'));

  await expect(retryWithBackoff('the plan', call)).rejects.toThrow('ValidationException');

  expect(call).toHaveBeenCalledTimes(1);
});

test('what a batch call leaves unprocessed goes again, and what is left after the last try is returned', async () => {
  const send = jest.fn(async (pending: readonly number[]) => pending.slice(1));

  const left = await retryUnprocessed([1, 2, 3, 4, 5, 6], send);

  expect(send.mock.calls.map(([pending]) => pending)).toEqual([
    [1, 2, 3, 4, 5, 6],
    [2, 3, 4, 5, 6],
    [3, 4, 5, 6],
    [4, 5, 6],
  ]);
  expect(left).toEqual([5, 6]);
});

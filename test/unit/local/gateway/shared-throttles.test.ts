/** A gateway worker's shared throttles when the worker that owns the buckets (worker 0) is gone. */
import { SharedThrottles } from '../../../../local/gateway/shared-throttles';

const ownerGone = () => Promise.reject(new Error('the owner of the shared throttle is gone'));

async function admittedCalls(throttles: SharedThrottles, calls: number): Promise<number> {
  let admitted = 0;
  for (let i = 0; i < calls; i++) if (await throttles.admitCall()) admitted++;
  return admitted;
}

describe('SharedThrottles after worker 0 died', () => {
  beforeEach(() => jest.spyOn(console, 'error').mockImplementation(() => {}));
  afterEach(() => jest.restoreAllMocks());

  it("admits calls on the worker's own share of the bucket, never more than that share", async () => {
    const throttles = new SharedThrottles(
      { workerIndex: 1, workerCount: 4, quota: { ratePerSecond: 1, burst: 400 }, connectRate: 'off' },
      ownerGone,
    );

    const admitted = await admittedCalls(throttles, 200);

    // A quarter of the burst (the refill of 1/s adds nothing within the test).
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThanOrEqual(100 + 1);
    expect(console.error).toHaveBeenCalledTimes(1);
  });
});

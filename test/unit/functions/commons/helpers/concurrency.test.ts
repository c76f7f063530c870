import { ConcurrencyLimit } from '#commons/helpers/concurrency';

/** Resolves after `n` turns of the microtask queue. */
async function microtasks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

describe('ConcurrencyLimit', () => {
  it.each([0, 1, 2, 3, 4, 5, 6, 8])(
    'never runs more than its limit when a caller arrives %i microtask(s) after a release',
    async (delay) => {
      const limit = new ConcurrencyLimit(1);
      let inside = 0;
      let most = 0;
      const call = (gate: Promise<void>) => async () => {
        most = Math.max(most, ++inside);
        await gate;
        inside--;
      };
      let releaseFirst!: () => void;
      const first = limit.run(call(new Promise<void>((resolve) => (releaseFirst = resolve))));
      const waiting = limit.run(call(Promise.resolve()));

      releaseFirst();
      await microtasks(delay);
      const late = limit.run(call(Promise.resolve()));
      await Promise.all([first, waiting, late]);

      expect(most).toBe(1);
    },
  );

  it('hands the slots to the waiting callers in arrival order', async () => {
    const limit = new ConcurrencyLimit(2);
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        limit.run(async () => {
          order.push(n);
          await microtasks(3);
        }),
      ),
    );
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });
});

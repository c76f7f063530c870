/**
 * Runs `work` over every item with at most `limit` calls in flight. It settles only when
 * every call has settled — a failure does not leave the other calls running unawaited —
 * and then rejects with the first error, if any.
 * (p-limit/p-map do this but ship ESM-only, which the CommonJS test runner cannot load.)
 */
export async function forEachWithConcurrency<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

/**
 * A counting semaphore: at most `limit` calls run at once across everyone sharing it, so
 * the records of one consumer batch, processed in parallel, share one bound on posts in flight.
 * A finished call hands its slot straight to the first waiter: a caller arriving before that
 * waiter resumes finds no free slot to take.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  async run<R>(call: () => Promise<R>): Promise<R> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await call();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Full-jitter exponential backoff: a random delay in [0, min(cap, base·2^attempt)). */
export function jitteredBackoffMs(attempt: number, baseMs: number, capMs: number): number {
  return Math.floor(Math.random() * Math.min(capMs, baseMs * 2 ** attempt));
}

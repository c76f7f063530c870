/**
 * Runs `work` over every item with at most `limit` calls in flight and resolves only
 * when every call has settled, so no fan-out promise outlives the handler.
 * (p-limit/p-map do this but ship ESM-only, which the CommonJS test runner cannot load.)
 */
export async function forEachWithConcurrency<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Full-jitter exponential backoff: a random delay in [0, min(cap, base·2^attempt)). */
export function jitteredBackoffMs(attempt: number, baseMs: number, capMs: number): number {
  return Math.floor(Math.random() * Math.min(capMs, baseMs * 2 ** attempt));
}

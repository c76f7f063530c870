/**
 * One line per kind of error, not one per occurrence: a dead local service makes a poller fail
 * dozens of times a second, and a multi-line trace for each buries the one line that says why.
 * The first occurrence of a key is printed at once; later ones are counted and summed up in one
 * line per window ("... 812 more times in 30 s, last: ...").
 */
export const REPEAT_SUMMARY_WINDOW_MS = 30_000;

/** "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:7703" — the name or code and the message, no stack. */
export function errorLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code } = error as Error & { code?: string };
  const label = code ?? error.name;
  const message =
    error.message || (error instanceof AggregateError ? error.errors.map((inner) => errorLine(inner)).join('; ') : '');
  return message.startsWith(label) || message.includes(label) ? message : `${label}: ${message}`;
}

interface Repeats {
  count: number;
  last: string;
  windowStart: number;
}

export class RepeatedErrorLog {
  private readonly repeats = new Map<string, Repeats>();

  constructor(
    private readonly write: (line: string) => void = (line) => console.error(line),
    private readonly windowMs = REPEAT_SUMMARY_WINDOW_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Reports `what` failing with `error`; `key` tells one kind of failure from another (default: what). */
  report(what: string, error: unknown, key = what): void {
    const now = this.clock();
    const line = errorLine(error);
    const seen = this.repeats.get(key);
    if (!seen) {
      this.repeats.set(key, { count: 0, last: line, windowStart: now });
      this.write(`${what}: ${line}`);
      return;
    }
    seen.count++;
    seen.last = line;
    if (now - seen.windowStart >= this.windowMs) this.summarize(what, key, seen, now);
  }

  /** Says how often `key` failed since its last line, if it did; call when the failure has stopped. */
  resolved(what: string, key = what): void {
    const seen = this.repeats.get(key);
    if (!seen) return;
    if (seen.count > 0) this.summarize(what, key, seen, this.clock());
    this.repeats.delete(key);
    this.write(`${what}: working again`);
  }

  private summarize(what: string, key: string, seen: Repeats, now: number): void {
    this.write(
      `${what}: failed ${seen.count.toLocaleString('en-US')} more times in ${Math.round((now - seen.windowStart) / 1000)} s (last: ${seen.last})`,
    );
    this.repeats.set(key, { count: 0, last: seen.last, windowStart: now });
  }
}

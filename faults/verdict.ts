/**
 * The fault matrix's judgement and its printed lines, kept apart from the sockets and services
 * so the rules (what "missed" means, which duplicates a case may show) are unit-tested on their own.
 */

/** What one case measured, once its broadcast ended (or its deadline passed) and a sweep ran. */
export interface CaseMeasurement {
  name: string;
  /** Clients connected before the broadcast started and still open at the end: each must have the message. */
  alive: number;
  /** Of those alive, how many got the message at least once. */
  delivered: number;
  /** Extra copies over every socket that got the message, alive at the end or not. */
  duplicates: number;
  /**
   * After the sweep: every open socket still has its row, each row in the partition its id hashes to.
   * Rows of sockets that closed without a $disconnect may remain: the sweep removes rows only once
   * expired (connectionTtlSeconds), and a broadcast's 410 removes them sooner (docs/architecture.md).
   */
  rowsCoverOpenSockets: boolean;
  /** The execution's final status and error (after the redrive, where the case redrives); "… at the deadline" if it had not ended. */
  status: string;
  /** From StartExecution to the end of delivery (or the deadline). */
  ms: number;
  /**
   * Duplicates the case tolerates: in the consumer-killed case, the connection ids the batches cut
   * short by the kill can hold (at-least-once); 0 everywhere else.
   */
  duplicatesAllowed: number;
  /**
   * Posts the broadcast itself counted as unanswered (the connection to the gateway broke before
   * the answer came) and made again: each may be a second copy, on AWS as here. Duplicates up to
   * this many are allowed in any case: the broadcast's summary and `status` report them.
   */
  unanswered: number;
  /**
   * In a case that replays its broadcast (it ended with failed sockets): how the broadcast itself
   * ended, with its counts and the replays it took. `status` is then the last replay's.
   */
  outcome?: string;
  /** Where the broadcast's own counts, once it ended, were not the truth its clients saw; empty when they were. */
  outcomeProblems?: string[];
  /** Set when the case could not be run to a measurement (a setup step threw). */
  error?: string;
}

/** A broadcast's counts once its execution ended, as `swarmcast status` shows them. */
export interface ReportedCounts {
  enqueued: number;
  accounted: number;
  delivered: number;
  failed: number;
  failedBy?: Partial<Record<string, number>>;
}

/**
 * Where the counts of an ended broadcast differ from what its clients saw (no client closed during
 * it): every socket accounted for, `delivered` the clients that have it, `failed` those that do not,
 * and no socket failed for a reason outside `reasons` (when given).
 */
export function outcomeProblemsOf(
  reported: ReportedCounts | undefined,
  clients: { alive: number; delivered: number },
  reasons?: readonly string[],
): string[] {
  if (!reported) return ['the ended execution reported no counts'];
  const problems: string[] = [];
  if (reported.accounted !== reported.enqueued)
    problems.push(
      `${reported.enqueued - reported.accounted} of ${reported.enqueued} sockets unaccounted for when it ended`,
    );
  if (reported.delivered !== clients.delivered)
    problems.push(`it counted ${reported.delivered} delivered, ${clients.delivered} clients had it`);
  if (reported.failed !== clients.alive - clients.delivered)
    problems.push(`it counted ${reported.failed} failed, ${clients.alive - clients.delivered} clients lacked it`);
  for (const [reason, count] of Object.entries(reported.failedBy ?? {})) {
    if (reasons && !reasons.includes(reason) && (count ?? 0) > 0) problems.push(`${count} failed as ${reason}`);
  }
  return problems;
}

export interface Verdict {
  pass: boolean;
  /** Why it failed, one short phrase each; empty when it passed. */
  reasons: string[];
}

/** Alive at the end and never got it. */
export function missedOf(measurement: Pick<CaseMeasurement, 'alive' | 'delivered'>): number {
  return Math.max(0, measurement.alive - measurement.delivered);
}

export function judge(measurement: CaseMeasurement): Verdict {
  const reasons: string[] = [];
  if (measurement.error) reasons.push(`not measured: ${measurement.error}`);
  else {
    // A case in which no client survived would pass on nothing.
    if (measurement.alive === 0) reasons.push('no client alive at the end: the case proves nothing');
    if (measurement.delivered > measurement.alive)
      reasons.push(`delivered ${measurement.delivered} > alive ${measurement.alive}: the count is wrong`);
    const missed = missedOf(measurement);
    if (missed > 0) reasons.push(`${missed} missed`);
    const allowed = duplicatesAllowedOf(measurement);
    if (measurement.duplicates > allowed) {
      reasons.push(
        allowed === 0
          ? `${measurement.duplicates} duplicates`
          : `${measurement.duplicates} duplicates > ${allowed} allowed (${allowanceText(measurement)})`,
      );
    }
    if (!measurement.rowsCoverOpenSockets)
      reasons.push('rows missing for open sockets (or outside their partition) after the sweep');
    // A broadcast whose counts are not the truth sends operators to a replay that duplicates or misses.
    for (const problem of measurement.outcomeProblems ?? []) reasons.push(`outcome untrue: ${problem}`);
    // An execution that says FAILED (or never ends) when every client has the message sends operators to a replay that duplicates.
    if (measurement.status !== 'SUCCEEDED') reasons.push(`execution ${measurement.status}`);
  }
  return { pass: reasons.length === 0, reasons };
}

/** The ids in the batches a consumer kill cut short, and the posts the broadcast counted unanswered. */
export function duplicatesAllowedOf(measurement: Pick<CaseMeasurement, 'duplicatesAllowed' | 'unanswered'>): number {
  return measurement.duplicatesAllowed + measurement.unanswered;
}

function allowanceText(measurement: Pick<CaseMeasurement, 'duplicatesAllowed' | 'unanswered'>): string {
  const parts: string[] = [];
  if (measurement.duplicatesAllowed > 0)
    parts.push(`${measurement.duplicatesAllowed} ids in the batches the kill cut short`);
  if (measurement.unanswered > 0) parts.push(`${measurement.unanswered} posts unanswered`);
  return parts.join(' + ');
}

/** One line per case: the figures, then PASS or FAIL with the reasons. */
export function caseLine(measurement: CaseMeasurement, verdict: Verdict = judge(measurement)): string {
  const figures = measurement.error
    ? 'not measured'
    : [
        `alive ${measurement.alive}`,
        `delivered ${measurement.delivered}`,
        `missed ${missedOf(measurement)}`,
        `duplicates ${measurement.duplicates}${duplicatesAllowedOf(measurement) > 0 ? ` (≤ ${duplicatesAllowedOf(measurement)} allowed: ${allowanceText(measurement)})` : ''}`,
        `rows ${measurement.rowsCoverOpenSockets ? 'cover open sockets' : 'MISSING'}`,
        measurement.outcome ? `broadcast ${measurement.outcome}, then ${measurement.status}` : measurement.status,
        `${(measurement.ms / 1000).toFixed(1)} s`,
      ].join(', ');
  const judged = verdict.pass ? 'PASS' : `FAIL (${verdict.reasons.join('; ')})`;
  return `${measurement.name.padEnd(34)} ${figures} — ${judged}`;
}

/** The closing line, over every case; a case that could not be measured adds nothing to the sums. */
export function summaryLine(measurements: CaseMeasurement[]): string {
  const measured = measurements.filter((m) => !m.error);
  const missed = measured.reduce((sum, m) => sum + missedOf(m), 0);
  const duplicates = measured.reduce((sum, m) => sum + m.duplicates, 0);
  return `faults: ${measurements.length} cases, ${missed} missed, ${duplicates} duplicates`;
}

/** 0 when every case passed, 1 otherwise (and when there was no case at all). */
export function exitCodeOf(measurements: CaseMeasurement[]): number {
  return measurements.length > 0 && measurements.every((m) => judge(m).pass) ? 0 : 1;
}

/** The table of the latest run (faults/results/latest.md, linked from docs/reliability.md). */
export function markdownTable(measurements: CaseMeasurement[]): string {
  const rows = measurements.map((m) => {
    const verdict = judge(m);
    const cells = m.error
      ? [m.name, '–', '–', '–', '–', '–', '–', '–']
      : [
          m.name,
          m.alive,
          m.delivered,
          missedOf(m),
          m.duplicates,
          m.rowsCoverOpenSockets ? 'yes' : 'no',
          m.outcome ? `${m.outcome}, then ${m.status}` : m.status,
          `${(m.ms / 1000).toFixed(1)} s`,
        ];
    const passed = m.duplicates > 0 ? `pass (≤ ${duplicatesAllowedOf(m)} allowed: ${allowanceText(m)})` : 'pass';
    return `| ${[...cells, verdict.pass ? passed : `**fail**: ${verdict.reasons.join('; ')}`].join(' | ')} |`;
  });
  return [
    '| case | alive | delivered | missed | duplicates | rows cover open sockets | execution | time | verdict |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | --- |',
    ...rows,
  ].join('\n');
}

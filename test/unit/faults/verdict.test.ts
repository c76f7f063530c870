/** The fault matrix's verdict and report lines (faults/verdict.ts): what counts as missed, which duplicates pass. */
import {
  caseLine,
  type CaseMeasurement,
  exitCodeOf,
  judge,
  markdownTable,
  missedOf,
  outcomeProblemsOf,
  summaryLine,
} from '../../../faults/verdict';

const clean: CaseMeasurement = {
  name: 'no-fault',
  alive: 2000,
  delivered: 2000,
  duplicates: 0,
  rowsCoverOpenSockets: true,
  status: 'SUCCEEDED',
  ms: 12_345,
  duplicatesAllowed: 0,
  unanswered: 0,
};

describe('judge', () => {
  test('every alive client got it once and every open socket has its row: pass', () => {
    expect(judge(clean)).toEqual({ pass: true, reasons: [] });
  });

  test('an alive client that never got it fails the case, whatever the execution said', () => {
    const verdict = judge({ ...clean, delivered: 1997, status: 'SUCCEEDED' });
    expect(verdict).toEqual({ pass: false, reasons: ['3 missed'] });
  });

  test('a duplicate fails a case that allows none', () => {
    expect(judge({ ...clean, duplicates: 1 })).toEqual({ pass: false, reasons: ['1 duplicates'] });
  });

  test('duplicates within the killed batches pass; one more than they hold fails', () => {
    expect(judge({ ...clean, name: 'consumer-killed-mid-batch', duplicates: 200, duplicatesAllowed: 200 }).pass).toBe(
      true,
    );
    expect(judge({ ...clean, name: 'consumer-killed-mid-batch', duplicates: 201, duplicatesAllowed: 200 })).toEqual({
      pass: false,
      reasons: ['201 duplicates > 200 allowed (200 ids in the batches the kill cut short)'],
    });
  });

  test('duplicates up to the posts the broadcast counted unanswered pass, in any case; one more fails', () => {
    const workerKilled = { ...clean, name: 'gateway-worker-killed', unanswered: 12 };
    expect(judge({ ...workerKilled, duplicates: 12 }).pass).toBe(true);
    expect(judge({ ...workerKilled, duplicates: 13 })).toEqual({
      pass: false,
      reasons: ['13 duplicates > 12 allowed (12 posts unanswered)'],
    });
    expect(
      judge({ ...clean, name: 'consumer-killed-mid-batch', duplicatesAllowed: 200, unanswered: 3, duplicates: 204 })
        .reasons,
    ).toEqual(['204 duplicates > 203 allowed (200 ids in the batches the kill cut short + 3 posts unanswered)']);
  });

  test('an ended broadcast whose counts are not what its clients saw fails the case, whatever the replays did', () => {
    expect(
      judge({
        ...clean,
        outcome: 'FAILED DeliveryTimeout (218 delivered, 0 failed), replay 1 SUCCEEDED',
        outcomeProblems: ['it counted 218 delivered, 400 clients had it'],
      }),
    ).toEqual({
      pass: false,
      reasons: ['outcome untrue: it counted 218 delivered, 400 clients had it'],
    });
    expect(
      judge({
        ...clean,
        outcome: 'FAILED DeliveryIncomplete (260 delivered, 140 failed), replay 1 SUCCEEDED',
        outcomeProblems: [],
      }).pass,
    ).toBe(true);
  });

  test('an open socket without its row after the sweep fails the case', () => {
    expect(judge({ ...clean, rowsCoverOpenSockets: false })).toEqual({
      pass: false,
      reasons: ['rows missing for open sockets (or outside their partition) after the sweep'],
    });
  });

  test('an execution that did not end SUCCEEDED fails the case even when every client has the message', () => {
    expect(judge({ ...clean, status: 'FAILED DeliveryIncomplete' })).toEqual({
      pass: false,
      reasons: ['execution FAILED DeliveryIncomplete'],
    });
    expect(judge({ ...clean, status: 'RUNNING at the deadline' }).reasons).toEqual([
      'execution RUNNING at the deadline',
    ]);
  });

  test('no client alive at the end proves nothing, so it fails', () => {
    expect(judge({ ...clean, alive: 0, delivered: 0 }).reasons).toEqual([
      'no client alive at the end: the case proves nothing',
    ]);
  });

  test('more delivered than alive is a counting error, not a pass', () => {
    expect(judge({ ...clean, delivered: 2001 }).pass).toBe(false);
  });

  test('a case that could not be measured fails with its error', () => {
    expect(judge({ ...clean, error: 'a client could not connect' })).toEqual({
      pass: false,
      reasons: ['not measured: a client could not connect'],
    });
  });

  test('every reason is listed, not just the first', () => {
    expect(judge({ ...clean, delivered: 1990, duplicates: 4, rowsCoverOpenSockets: false }).reasons).toEqual([
      '10 missed',
      '4 duplicates',
      'rows missing for open sockets (or outside their partition) after the sweep',
    ]);
  });
});

describe('report lines', () => {
  test('one line per case: the figures, then the verdict', () => {
    expect(caseLine(clean)).toBe(
      `${'no-fault'.padEnd(34)} alive 2000, delivered 2000, missed 0, duplicates 0, rows cover open sockets, SUCCEEDED, 12.3 s — PASS`,
    );
    expect(caseLine({ ...clean, duplicates: 2, unanswered: 9 })).toMatch(
      /duplicates 2 \(≤ 9 allowed: 9 posts unanswered\), .* — PASS$/,
    );
    expect(caseLine({ ...clean, delivered: 1999, status: 'RUNNING at the deadline' })).toMatch(
      /missed 1, .*RUNNING at the deadline, .* — FAIL \(1 missed; execution RUNNING at the deadline\)$/,
    );
  });

  test('the closing line sums missed and duplicates over the measured cases', () => {
    const cases = [
      clean,
      { ...clean, name: 'b', delivered: 1990, duplicates: 3 },
      { ...clean, name: 'c', duplicates: 7, duplicatesAllowed: 50 },
      { ...clean, name: 'd', error: 'boom' },
    ];
    expect(summaryLine(cases)).toBe('faults: 4 cases, 10 missed, 10 duplicates');
  });

  test('missed is never negative', () => {
    expect(missedOf({ alive: 5, delivered: 7 })).toBe(0);
  });

  test('the exit code is 0 only when every case passed', () => {
    expect(exitCodeOf([clean, { ...clean, name: 'b' }])).toBe(0);
    expect(exitCodeOf([clean, { ...clean, name: 'b', delivered: 1 }])).toBe(1);
    expect(exitCodeOf([clean, { ...clean, name: 'b', error: 'boom' }])).toBe(1);
    expect(exitCodeOf([])).toBe(1);
  });

  test('the README table has a row per case with its verdict', () => {
    const table = markdownTable([
      clean,
      { ...clean, name: 'dynamodb-down-20s', delivered: 1500, status: 'RUNNING at the deadline' },
    ]).split('\n');
    expect(table).toHaveLength(4);
    expect(table[2]).toBe('| no-fault | 2000 | 2000 | 0 | 0 | yes | SUCCEEDED | 12.3 s | pass |');
    expect(markdownTable([{ ...clean, duplicates: 7, unanswered: 52 }]).split('\n')[2]).toBe(
      '| no-fault | 2000 | 2000 | 0 | 7 | yes | SUCCEEDED | 12.3 s | pass (≤ 52 allowed: 52 posts unanswered) |',
    );
    expect(table[3]).toBe(
      '| dynamodb-down-20s | 2000 | 1500 | 500 | 0 | yes | RUNNING at the deadline | 12.3 s | **fail**: 500 missed; execution RUNNING at the deadline |',
    );
  });
});

describe("outcomeProblemsOf: are an ended broadcast's counts the truth its clients saw?", () => {
  const clients = { alive: 400, delivered: 260 };

  test('every socket accounted for, delivered and failed as the clients saw, for an expected reason: true', () => {
    expect(
      outcomeProblemsOf(
        { enqueued: 400, accounted: 400, delivered: 260, failed: 140, failedBy: { deadline: 100, slowReader: 40 } },
        clients,
        ['deadline', 'slowReader'],
      ),
    ).toEqual([]);
  });

  test("the issue's broadcast: ended at the deadline with sockets in flight, delivered to after it", () => {
    expect(
      outcomeProblemsOf({ enqueued: 400, accounted: 218, delivered: 218, failed: 0 }, { alive: 400, delivered: 400 }),
    ).toEqual(['182 of 400 sockets unaccounted for when it ended', 'it counted 218 delivered, 400 clients had it']);
  });

  test('a socket failed for a reason the case does not expect (a healthy client beside slow readers)', () => {
    expect(
      outcomeProblemsOf(
        { enqueued: 400, accounted: 400, delivered: 260, failed: 140, failedBy: { slowReader: 40, deadline: 100 } },
        clients,
        ['slowReader'],
      ),
    ).toEqual(['100 failed as deadline']);
  });

  test('no counts at all', () => {
    expect(outcomeProblemsOf(undefined, clients)).toEqual(['the ended execution reported no counts']);
  });
});

import { errorLine, RepeatedErrorLog } from '../../../local/repeated-errors';

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7763'), {
    code: 'ECONNREFUSED',
    stack: 'Error: connect ECONNREFUSED\n    at TCPConnectWrap.afterConnect',
  });

test('a poller failing 80 times a second for a minute prints a handful of one-line summaries, not 4,800 traces', () => {
  const lines: string[] = [];
  let now = 0;
  const log = new RepeatedErrorLog(
    (line) => lines.push(line),
    30_000,
    () => now,
  );

  for (now = 0; now < 60_000; now += 12.5)
    log.report('local event source: ReceiveMessage failed on the shard queues; polling on', refused());
  log.resolved('local event source: ReceiveMessage failed on the shard queues; polling on');

  expect(lines).toEqual([
    'local event source: ReceiveMessage failed on the shard queues; polling on: connect ECONNREFUSED 127.0.0.1:7763',
    'local event source: ReceiveMessage failed on the shard queues; polling on: failed 2,400 more times in 30 s (last: connect ECONNREFUSED 127.0.0.1:7763)',
    'local event source: ReceiveMessage failed on the shard queues; polling on: failed 2,399 more times in 30 s (last: connect ECONNREFUSED 127.0.0.1:7763)',
    'local event source: ReceiveMessage failed on the shard queues; polling on: working again',
  ]);
  expect(lines.every((line) => !line.includes('\n'))).toBe(true);
});

test('an error line is the code or name and the message, never the stack', () => {
  expect(errorLine(refused())).toBe('connect ECONNREFUSED 127.0.0.1:7763');
  expect(errorLine(Object.assign(new Error('Service unavailable'), { name: 'InternalServerError' }))).toBe(
    'InternalServerError: Service unavailable',
  );
});

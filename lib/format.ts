/** Human output of the CLI: stdout carries these, stderr the target line, progress and errors. */
import { failureReasonsText } from '#commons/broadcasts/failure-reasons';
import { isRunning, type BroadcastStatus, type ListedExecution } from './broadcast-status';

export const formatCount = (n: number): string => n.toLocaleString('en-US');

export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${formatCount(Math.round(ms))} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const formatTime = (iso: string): string => `${iso.slice(0, 19).replace('T', ' ')} UTC`;
const plural = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
const KIND_LABEL = { message: 'broadcast', sweep: 'sweep', replay: 'replay' } as const;

/**
 * How an execution ended for the people it was sent to: every planned partition reached and no
 * socket failed; some partitions not reached or some sockets failed (the execution succeeded
 * within its tolerances); or failed.
 */
export type Outcome = 'running' | 'complete' | 'incomplete' | 'failed';

export function outcomeOf(status: Pick<BroadcastStatus, 'status' | 'summary'>): Outcome {
  if (isRunning(status.status)) return 'running';
  if (status.status !== 'SUCCEEDED') return 'failed';
  return (status.summary?.failedPartitions.length ?? 0) > 0 || (status.summary?.failed ?? 0) > 0
    ? 'incomplete'
    : 'complete';
}

/** One line of progress, for logs. */
export function progressLine({ id, status, partitions, delivery }: BroadcastStatus): string {
  const parts = [`${id} ${status}`];
  if (partitions)
    parts.push(
      `partitions ${partitions.succeeded + partitions.failed}/${partitions.total} done${partitions.failed ? ` (${partitions.failed} failed)` : ''}`,
    );
  if (delivery)
    parts.push(
      `delivery ${delivery.accounted}/${delivery.enqueued} (delivered ${delivery.delivered}, gone ${delivery.gone}, failed ${delivery.failed})`,
    );
  return parts.join(' · ');
}

export function renderStatus(s: BroadcastStatus): string {
  const rows: [string, string][] = [];
  if (s.channel !== undefined) rows.push(['channel', `${s.channel} (its members only; partitions are the channel's)`]);
  if (s.startDate) {
    const end = s.stopDate ? Date.parse(s.stopDate) : Date.now();
    rows.push([
      'started',
      `${formatTime(s.startDate)}, ${s.stopDate ? 'ran' : 'running for'} ${formatDuration(end - Date.parse(s.startDate))}`,
    ]);
  }
  if (s.partitions) {
    const p = s.partitions;
    rows.push([
      'partitions',
      `${formatCount(p.succeeded)} of ${formatCount(p.total)} succeeded, ${formatCount(p.failed)} failed, ${formatCount(p.running)} running, ${formatCount(p.pending)} pending`,
    ]);
  }
  if (s.summary?.failedPartitions.length)
    rows.push([
      'not reached',
      `partition${s.summary.failedPartitions.length === 1 ? '' : 's'} ${s.summary.failedPartitions.join(', ')}`,
    ]);
  if (s.delivery) {
    const d = s.delivery;
    rows.push(
      s.kind === 'sweep'
        ? [
            'connections',
            `${formatCount(d.enqueued)} past their TTL: ${formatCount(d.gone)} removed, ${formatCount(d.failed)} failed`,
          ]
        : [
            'connections',
            `${formatCount(d.enqueued)} enqueued: ${formatCount(d.delivered)} delivered, ${formatCount(d.gone)} gone, ${formatCount(d.failed)} failed`,
          ],
    );
    if (d.failed > 0 && d.failedBy && failureReasonsText(d.failedBy))
      rows.push(['failed', failureReasonsText(d.failedBy)]);
    if (d.unanswered)
      rows.push([
        'unanswered',
        `${plural(d.unanswered, 'post')} got no answer and went out again: up to that many sockets may have the message twice`,
      ]);
  } else if (isRunning(s.status)) {
    rows.push(['connections', 'no progress read yet (the fan-out is under way)']);
  }
  if (s.summary) rows.push(['delivery time', formatDuration(s.summary.durationMs)]);
  if (s.redriveCount > 0) rows.push(['redriven', plural(s.redriveCount, 'time')]);
  if (s.error) rows.push(['error', `${s.error}${s.cause ? `: ${oneLine(s.cause)}` : ''}`]);
  for (const replay of s.replays)
    rows.push([
      'replay',
      `${replay.id} ${replay.status}${replay.failedPartitions ? `, ${reachedText(replay.failedPartitions)}` : ''}`,
    ]);
  rows.push(['execution', s.executionArn]);
  const next = nextStep(s);
  if (next) rows.push(['next', next]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const removed = s.kind === 'sweep' && s.summary ? ` — removed ${plural(s.summary.gone, 'gone connection')}` : '';
  return [
    `${KIND_LABEL[s.kind]} ${s.id}: ${s.status}${removed}`,
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
  ].join('\n');
}

function reachedText(failedPartitions: number[]): string {
  return failedPartitions.length === 0
    ? 'all partitions reached'
    : `${plural(failedPartitions.length, 'partition')} not reached`;
}

/** What the operator can do next; the latest replay, if any, decides for the broadcast. */
function nextStep(s: BroadcastStatus): string | undefined {
  const latest = s.replays.at(-1);
  if (latest) {
    if (isRunning(latest.status)) return `follow the replay: swarmcast status ${latest.id} --watch`;
    if (latest.status === 'SUCCEEDED' && latest.failedPartitions?.length === 0) return undefined;
    return `swarmcast replay ${s.id} runs what ${latest.id} did not reach`;
  }
  switch (outcomeOf(s)) {
    case 'running':
      return `follow it: swarmcast status ${s.id} --watch`;
    case 'complete':
      return undefined;
    case 'incomplete':
      return `swarmcast replay ${s.broadcastId} sends to ${missedText(s.summary!.failedPartitions.length, s.summary!.failed)}, once the cause is fixed`;
    case 'failed':
      if (s.error === 'DeliveryIncomplete')
        return `swarmcast replay ${s.broadcastId} sends to ${missedText(0, s.delivery?.failed ?? 0)} (never to a socket that has the message), once the cause is fixed`;
      if (s.error === 'DeliveryTimeout') {
        const failed = s.delivery?.failed ?? 0;
        const lost =
          "the counts still missing a grace past the deadline are lost (look for delivery tasks on the shard queues' dead-letter queues) and never replayed";
        return failed > 0 ? `swarmcast replay ${s.broadcastId} sends to ${missedText(0, failed)}; ${lost}` : lost;
      }
      if (s.partitions)
        return `once the cause is fixed, swarmcast replay ${s.broadcastId} re-runs the failed partitions (the ones already enqueued are not sent again)`;
      if (s.kind === 'replay')
        return `it failed before visiting any partition: once the cause is fixed, swarmcast replay ${s.broadcastId} asks again`;
      return 'it failed before visiting any partition, so nothing was sent: fix the cause and send again';
  }
}

function missedText(partitions: number, sockets: number): string {
  const parts = [
    partitions > 0 && `the ${plural(partitions, 'partition')} not reached`,
    sockets > 0 && `the ${plural(sockets, 'failed socket')}`,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' and ') : 'the failed sockets';
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').slice(0, 500);

export function renderList(executions: ListedExecution[]): string {
  if (executions.length === 0) return 'no broadcasts yet: start one with `swarmcast send --message TEXT`';
  const header = ['ID', 'KIND', 'STATUS', 'STARTED', 'CONNECTIONS', 'DELIVERED', 'GONE', 'FAILED', 'NOT REACHED'];
  const rows = executions.map((e) => [
    e.id,
    // A channel broadcast says which channel: "broadcast #room-1".
    e.channel === undefined ? KIND_LABEL[e.kind] : `${KIND_LABEL[e.kind]} #${e.channel}`,
    e.status,
    e.startDate ? formatTime(e.startDate) : '',
    ...(e.summary
      ? [
          e.summary.connections,
          e.summary.delivered,
          e.summary.gone,
          e.summary.failed,
          e.summary.failedPartitions.length,
        ].map(formatCount)
      : ['', '', '', '', '']),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const numeric = (i: number) => i >= 4;
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

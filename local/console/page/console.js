// The local console's page: polls the console server (local/console/server.ts), which reads the
// Step Functions API as `swarmcast list` / `status` do. Everything shown is set with textContent.

import { $, api, cell, notice } from './common.js';

const POLL_MS = 500;
/** The list changes less often than the execution being watched: read it every 4th poll. */
const LIST_EVERY = 4;
const KIND_LABEL = { message: 'broadcast', replay: 'replay', sweep: 'sweep' };
const count = (n) => (n === undefined ? '–' : n.toLocaleString('en-US'));
const time = (iso) => (iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : '');
const selectedId = () => decodeURIComponent(location.hash.slice(1));
let shown; // the status on display, for the Replay button
let polls = 0;
let pollFailed = false; // a poll's error is cleared by the next poll that succeeds

function renderList({ stateMachineArn, broadcasts }) {
  $('state-machine').textContent = stateMachineArn;
  $('executions').replaceChildren(
    ...broadcasts.map((e) => {
      const row = document.createElement('tr');
      const link = document.createElement('a');
      link.href = `#${encodeURIComponent(e.id)}`;
      link.textContent = e.id;
      const name = document.createElement('td');
      name.append(link);
      const started = cell(e.startDate ? e.startDate.slice(11, 19) : '');
      started.title = time(e.startDate);
      const kind = `${KIND_LABEL[e.kind] ?? e.kind}${e.channel ? ` #${e.channel}` : ''}`;
      row.append(name, cell(kind), cell(e.status, e.status), started);
      row.append(
        cell(e.summary ? `${count(e.summary.delivered)} / ${count(e.summary.connections)}` : '', 'n'),
        cell(e.summary ? count(e.summary.failedPartitions.length) : '', 'n'),
      );
      if (e.id === selectedId()) row.className = 'selected';
      return row;
    }),
  );
}

function renderExecution(s) {
  shown = s;
  $('execution').hidden = false;
  $('execution-kind').textContent = `${KIND_LABEL[s.kind] ?? s.kind}${s.channel ? ` to #${s.channel}` : ''}`;
  $('execution-id').textContent = s.id;
  $('execution-status').textContent = s.status;
  $('execution-status').className = `status ${s.status}`;
  $('execution-message').hidden = s.message === undefined;
  $('execution-message').textContent = typeof s.message === 'string' ? s.message : JSON.stringify(s.message, null, 2);
  for (const key of ['succeeded', 'failed', 'running', 'pending', 'total'])
    $(`partitions-${key}`).textContent = count(s.partitions?.[key]);
  for (const key of ['enqueued', 'delivered', 'gone', 'failed'])
    $(`delivery-${key}`).textContent = count(s.delivery?.[key]);
  $('delivery-progress').max = Math.max(s.delivery?.enqueued ?? 1, 1);
  $('delivery-progress').value = s.delivery?.accounted ?? 0;
  const failedPartitions = s.summary?.failedPartitions;
  $('failed-partitions').textContent = failedPartitions
    ? failedPartitions.length
      ? `${failedPartitions.length === 1 ? 'partition' : 'partitions'} ${failedPartitions.join(', ')}`
      : 'none'
    : s.partitions?.failed
      ? `${count(s.partitions.failed)} in the Map Run`
      : 'none so far';
  $('execution-started').textContent = time(s.startDate);
  $('execution-redrives').textContent = count(s.redriveCount);
  $('execution-error').textContent = s.error ? `${s.error}${s.cause ? `: ${s.cause}` : ''}` : 'none';
  $('replays').replaceChildren(
    ...(s.replays.length ? [] : ['none']),
    ...s.replays.map((replay) => {
      const item = document.createElement('div');
      const link = document.createElement('a');
      link.href = `#${encodeURIComponent(replay.id)}`;
      link.textContent = replay.id;
      const reached = replay.failedPartitions
        ? replay.failedPartitions.length
          ? `, ${replay.failedPartitions.length} partition(s) not reached`
          : ', all partitions reached'
        : '';
      item.append(link, ` ${replay.status}${reached}`);
      return item;
    }),
  );
  $('execution-arn').textContent = s.executionArn;
  $('replay').disabled = s.outcome === 'running' || s.outcome === 'complete';
}

async function refresh() {
  try {
    if (polls++ % LIST_EVERY === 0) renderList(await api('/api/executions'));
    const id = selectedId();
    if (id) renderExecution(await api(`/api/executions/${encodeURIComponent(id)}`));
    if (pollFailed) notice('');
    pollFailed = false;
  } catch (error) {
    notice(error.message, true);
    pollFailed = true;
  } finally {
    setTimeout(refresh, POLL_MS);
  }
}

$('send-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const channel = $('channel').value.trim();
    const started = await api('/api/broadcasts', { message: $('message').value, ...(channel && { channel }) });
    notice(started.headline);
    polls = 0;
    location.hash = encodeURIComponent(started.id);
  } catch (error) {
    notice(error.message, true);
  }
});

$('replay').addEventListener('click', async () => {
  $('replay').disabled = true;
  try {
    const outcome = await api(`/api/executions/${encodeURIComponent(shown.id)}/replay`, {});
    if (outcome.action === 'nothing') return notice(outcome.reason);
    notice(outcome.headline);
    polls = 0;
    location.hash = encodeURIComponent(outcome.id);
  } catch (error) {
    notice(error.message, true);
  }
});

refresh();

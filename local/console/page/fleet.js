// The local fleet's page: polls the console server (local/console/server.ts, lib/fleet.ts), which reads
// the coordinator as `swarmcast list --fleet` / `status --fleet` do. Everything shown is set with textContent.

import { $, api, cell, notice } from './common.js';

const POLL_MS = 500;
const count = (n) => (n === undefined ? '' : n.toLocaleString('en-US'));
const selectedId = () => decodeURIComponent(location.hash.slice(1));

function renderFleet({ cells, broadcasts }) {
  $('cells-summary').textContent = `${cells.length} cell(s)`;
  $('cells').replaceChildren(
    ...cells.map(({ name, url }) => {
      const row = document.createElement('tr');
      row.append(cell(name), cell(url));
      return row;
    }),
  );
  $('broadcasts').replaceChildren(
    ...broadcasts.map((b) => {
      const row = document.createElement('tr');
      const link = document.createElement('a');
      link.href = `#${encodeURIComponent(b.id)}`;
      link.textContent = b.id;
      const name = document.createElement('td');
      name.append(link);
      row.append(
        name,
        cell(b.status, b.status),
        cell(b.startDate ? b.startDate.slice(11, 19) : ''),
        cell(b.total ? `${count(b.total.delivered)} / ${count(b.total.connections)}` : '', 'n'),
        cell(b.total ? count(b.total.failed) : '', 'n'),
        cell((b.cellsNotFinished ?? []).join(', ')),
      );
      if (b.id === selectedId()) row.className = 'selected';
      return row;
    }),
  );
}

function renderBroadcast(status) {
  $('broadcast').hidden = false;
  $('broadcast-id').textContent = status.id;
  $('broadcast-status').textContent = status.status;
  $('broadcast-status').className = `status ${status.status}`;
  $('broadcast-cells').replaceChildren(
    ...status.cells.map((c) => {
      const row = document.createElement('tr');
      row.append(
        cell(c.cell),
        cell(c.status, c.status),
        cell(count(c.counts?.delivered), 'n'),
        cell(count(c.counts?.gone), 'n'),
        cell(count(c.counts?.failed), 'n'),
        cell(count(c.counts?.durationMs), 'n'),
        cell(c.error ?? ''),
      );
      return row;
    }),
  );
  $('replay').disabled = !(
    status.summary && status.summary.cellsWithFailedSockets.length + status.summary.cellsNotFinished.length > 0
  );
}

async function poll() {
  try {
    renderFleet(await api('/api/fleet'));
    const id = selectedId();
    if (id) renderBroadcast(await api(`/api/fleet/broadcasts/${encodeURIComponent(id)}`));
  } catch (error) {
    notice(error.message, true);
  }
  setTimeout(poll, POLL_MS);
}

$('send-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const started = await api('/api/fleet/broadcasts', { message: $('message').value });
    notice(started.headline);
    location.hash = encodeURIComponent(started.id);
  } catch (error) {
    notice(error.message, true);
  }
});

$('replay').addEventListener('click', async () => {
  try {
    const outcome = await api(`/api/fleet/broadcasts/${encodeURIComponent(selectedId())}/replay`, {});
    notice(
      outcome.cells.length === 0
        ? 'nothing to replay'
        : outcome.cells.map(({ cell: name, outcome: o }) => `${name}: ${o.headline ?? o.reason}`).join('; '),
    );
  } catch (error) {
    notice(error.message, true);
  }
});

poll();

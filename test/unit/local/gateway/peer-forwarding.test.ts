/** Peer forwarding's framing, over a real abstract Unix socket: calls and leases arrive intact and are answered to the right caller. */
import type net from 'node:net';
import { RESULTS } from '../../../../local/gateway/management-results';
import { type ManagementOp, PeerLink, startPeerServer } from '../../../../local/gateway/peer-forwarding';

describe('peer forwarding', () => {
  let server: net.Server;
  let link: PeerLink;
  const seen: { op: ManagementOp; id: string; data: string }[] = [];

  beforeAll(async () => {
    const address = `\0swarmcast-test-peer-${process.pid}`;
    server = await startPeerServer(
      address,
      (op, id, data) => {
        seen.push({ op, id, data: data.toString() });
        if (op === 'describe') return { status: 200, body: JSON.stringify({ id }) };
        return id.startsWith('gone') ? RESULTS.gone : RESULTS.posted;
      },
      (bucket, worker, stock, want) => bucket * 1000 + worker * 100 + stock + want,
    );
    link = new PeerLink(address);
  });

  afterAll(() => {
    link.close();
    server.close();
  });

  it('carries op, id and payload, and answers each call with its own result, many in one tick', async () => {
    const payload = Buffer.from('x'.repeat(70_000));
    const results = await Promise.all([
      link.forward('post', 'conn-a=', payload),
      link.forward('describe', 'conn-b=', Buffer.alloc(0)),
      link.forward('post', 'gone-c=', Buffer.from('hi')),
    ]);
    expect(results).toEqual([RESULTS.posted, { status: 200, body: JSON.stringify({ id: 'conn-b=' }) }, RESULTS.gone]);
    expect(seen).toEqual([
      { op: 'post', id: 'conn-a=', data: payload.toString() },
      { op: 'describe', id: 'conn-b=', data: '' },
      { op: 'post', id: 'gone-c=', data: 'hi' },
    ]);
  });

  it('carries a lease’s bucket, worker, stock and want to the grant', async () => {
    await expect(link.lease(2, 3, 40, 5)).resolves.toBe(2 * 1000 + 3 * 100 + 40 + 5);
  });
});

/** Local connection ids: API Gateway's shape, with the owning worker (or the virtual number) recoverable from the id alone. */
import {
  ConnectionIdFactory,
  virtualConnectionId,
  virtualNumberOf,
  workerIndexOf,
} from '../../../../local/gateway/connection-id';

describe('connection ids', () => {
  it('look like API Gateway ids: 16 URL-safe base64 characters ending in =', () => {
    const id = new ConnectionIdFactory(3).next();
    expect(id).toMatch(/^[A-Za-z0-9_-]{15}=$/);
  });

  it('name the worker that minted them, for every worker index', () => {
    for (const worker of [0, 1, 17, 255]) {
      const ids = new ConnectionIdFactory(worker);
      for (let i = 0; i < 50; i++) expect(workerIndexOf(ids.next())).toBe(worker);
    }
  });

  it('are unique within a run', () => {
    const ids = new ConnectionIdFactory(0);
    const minted = new Set(Array.from({ length: 10_000 }, () => ids.next()));
    expect(minted.size).toBe(10_000);
  });

  it('are not ours when the shape is wrong', () => {
    expect(workerIndexOf('not-an-id')).toBeUndefined();
    expect(workerIndexOf('AAAAAAAAAAAAAAAA')).toBeUndefined();
    expect(() => new ConnectionIdFactory(256)).toThrow(RangeError);
  });

  it('virtual ids carry their number and owner (n mod workers); real ids are not virtual', () => {
    const id = virtualConnectionId(1234, 3);
    expect(virtualNumberOf(id)).toBe(1234);
    expect(workerIndexOf(id)).toBe(1234 % 3);
    expect(virtualNumberOf(new ConnectionIdFactory(0).next())).toBeUndefined();
  });
});

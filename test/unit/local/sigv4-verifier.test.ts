/**
 * The local services' SigV4 check against requests signed by the SDK's own signer
 * (@smithy/signature-v4): what it signs must pass, any change after signing must not.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { SigV4Verifier, type ReceivedRequest } from '../../../local/sigv4-verifier';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local-account';

const signer = new SignatureV4({
  service: 'execute-api',
  region: LOCAL_REGION,
  credentials: LOCAL_CREDENTIALS,
  sha256: Sha256,
});
const verifier = new SigV4Verifier({ service: 'execute-api' });
const body = Buffer.from('{"text":"hello"}');

/** What a server receives of an SDK-signed request: lower-case headers, the path with its query. */
async function signed(
  path: string,
  query: Record<string, string | string[]> = {},
  headers: Record<string, string> = {},
): Promise<ReceivedRequest> {
  const request = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 7710,
    path,
    query,
    headers: { host: '127.0.0.1:7710', ...headers },
    body,
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) for (const v of [value].flat()) search.append(key, v);
  const received: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) received[name.toLowerCase()] = value;
  return { method: 'POST', url: search.size > 0 ? `${path}?${search}` : path, headers: received };
}

test('accepts what the SDK signs: an escaped connection id, a query with repeated and prefix names, headers with runs of blanks', async () => {
  const requests = [
    await signed('/local/%40connections/L0SM9cOFvHcCIhw%3D'),
    await signed('/local/%40connections/x', { b: ['2', '1'], a: 'x y', 'a-b': "it's" }),
    await signed('/local/%40connections/x', {}, { 'x-custom': '  two   blanks\tand a tab ' }),
  ];
  for (const request of requests) expect(verifier.verify(request, body)).toBeUndefined();
});

test('refuses a request changed after signing: path, query, body, a signed header, or a signature from another key', async () => {
  const original = await signed('/local/%40connections/abc%3D', { a: '1' }, { 'x-custom': 'v' });
  const otherKey = new SignatureV4({
    service: 'execute-api',
    region: LOCAL_REGION,
    credentials: { ...LOCAL_CREDENTIALS, secretAccessKey: 'not-the-secret' },
    sha256: Sha256,
  });
  const wrongSecret = await otherKey.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    path: '/local/%40connections/abc%3D',
    query: { a: '1' },
    headers: { host: '127.0.0.1:7710', 'x-custom': 'v' },
    body,
  });
  const changed: [string, ReceivedRequest, Buffer][] = [
    ['path', { ...original, url: '/local/%40connections/abd%3D?a=1' }, body],
    ['query', { ...original, url: '/local/%40connections/abc%3D?a=2' }, body],
    ['body', original, Buffer.from('{"text":"other"}')],
    ['header', { ...original, headers: { ...original.headers, 'x-custom': 'w' } }, body],
    [
      'secret',
      { ...original, headers: { ...original.headers, authorization: wrongSecret.headers.authorization } },
      body,
    ],
  ];
  for (const [what, request, data] of changed) {
    expect([what, verifier.verify(request, data)?.code]).toEqual([what, 'InvalidSignatureException']);
  }
  expect(verifier.verify(original, body)).toBeUndefined();
});

describe('the signing time, as AWS checks it: within 15 minutes of the server clock, either way', () => {
  const signedAt = new Date('2026-11-23T12:00:00Z');
  afterEach(() => jest.useRealTimers());

  it.each([
    ['20 minutes old is refused', 20, 'InvalidSignatureException'],
    ['20 minutes ahead is refused', -20, 'InvalidSignatureException'],
    ['16 minutes old is refused', 16, 'InvalidSignatureException'],
    ['14 minutes old is accepted', 14, undefined],
    ['14 minutes ahead is accepted', -14, undefined],
  ])('a signature %s', async (_, minutesLater, code) => {
    // prepare: signed at `signedAt`, received `minutesLater` minutes after it
    const request = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: '/local/%40connections/x',
        headers: { host: '127.0.0.1:7710' },
        body,
      },
      { signingDate: signedAt },
    );
    const received: ReceivedRequest = {
      method: 'POST',
      url: '/local/%40connections/x',
      headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value])),
    };
    jest.useFakeTimers({ now: signedAt.getTime() + minutesLater * 60_000 });

    // act
    const rejection = verifier.verify(received, body);

    // assess
    expect(rejection?.code).toBe(code);
    if (code)
      expect(rejection?.message).toMatch(
        /^Signature expired: 20261123T120000Z is now earlier or later than 15 minutes from the server's time\.$/,
      );
  });
});

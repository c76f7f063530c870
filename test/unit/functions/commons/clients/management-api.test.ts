import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { ConnectionPoster, PostRejectedError, preparePayload } from '#commons/clients/management-api';

/** A stand-in @connections API on loopback: the answer depends on the connection id. */
const answers: Record<string, [number, string?]> = {
  'ok=': [200],
  'gone=': [410, 'GoneException'],
  'busy=': [429, 'LimitExceededException'],
  'down=': [503],
  'denied=': [403, 'ForbiddenException'],
};
const seen: http.IncomingMessage[] = [];
let server: http.Server;
let poster: ConnectionPoster;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    seen.push(request);
    request.resume();
    request.on('end', () => {
      const id = decodeURIComponent(request.url!.split('/').pop()!);
      if (id === 'cut=') return request.socket.destroy(); // the connection breaks before any answer
      const [status, type] = answers[id] ?? [500];
      response.writeHead(status, type ? { 'x-amzn-ErrorType': type } : {});
      response.end(type ? JSON.stringify({ message: type }) : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live`;
  poster = new ConnectionPoster(
    endpoint,
    new ApiGatewayManagementApiClient({
      endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    }),
    4,
  );
});

afterAll(async () => {
  await poster.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('ConnectionPoster', () => {
  it('maps 2xx to delivered, 410 to gone, 429 to throttled and 5xx to retry', async () => {
    const payload = preparePayload('hello');
    await expect(poster.post('ok=', payload)).resolves.toBe('delivered');
    await expect(poster.post('gone=', payload)).resolves.toBe('gone');
    await expect(poster.post('busy=', payload)).resolves.toBe('throttled');
    await expect(poster.post('down=', payload)).resolves.toBe('retry');
  });

  it('maps a connection that breaks before the answer to unanswered: the post may have gone out', async () => {
    await expect(poster.post('cut=', preparePayload('hello'))).resolves.toBe('unanswered');
    await expect(poster.post('ok=', preparePayload('hello'))).resolves.toBe('delivered');
  });

  it('throws PostRejectedError for an answer no retry can fix', async () => {
    await expect(poster.post('denied=', preparePayload('hello'))).rejects.toBeInstanceOf(PostRejectedError);
  });

  it('signs with SigV4 for execute-api over the payload hash, and encodes the id in the path', async () => {
    seen.length = 0;
    await poster.post('ok=', preparePayload('hello'));
    const request = seen[0];
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/live/@connections/ok%3D');
    expect(request.headers['x-amz-content-sha256']).toBe(createHash('sha256').update('hello').digest('hex'));
    expect(request.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=.*x-amz-content-sha256.*, Signature=[0-9a-f]{64}$/,
    );
  });

  it.each([
    ['every character API Gateway puts in ids', 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_='],
    ['an id with "=" padding', 'L0SM9cOFvHcCIhw='],
    ['an id with "+" and "/"', 'a+b/c+d/ef-G_h0=='],
  ])('signs exactly as @smithy/signature-v4 does over the path it sends: %s', async (_, connectionId) => {
    seen.length = 0;
    const payload = preparePayload('héllo ✓');
    await poster.post(connectionId, payload);
    const request = seen[0];
    const amzDate = String(request.headers['x-amz-date']);
    const signingDate = new Date(
      amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
    );
    const signer = new SignatureV4({
      service: 'execute-api',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
      sha256: Sha256,
    });
    const reference = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: String(request.headers.host),
        path: request.url!,
        query: {},
        headers: {
          host: String(request.headers.host),
          'content-length': String(payload.body.length),
          'content-type': 'application/octet-stream',
          'x-amz-content-sha256': payload.sha256,
        },
        body: payload.body,
      },
      { signingDate },
    );

    expect(decodeURIComponent(request.url!.split('/').pop()!)).toBe(connectionId);
    expect(request.headers.authorization).toBe(reference.headers.authorization);
  });
});

/**
 * The local HTTP APIs that read whole bodies (Step Functions, @connections) against unsigned and
 * oversized requests on raw sockets: an unsigned call, or a body declared over the API's limit,
 * is answered before its body is sent; a chunked body is cut off soon after the limit.
 */
import http from 'node:http';
import { join } from 'node:path';
import {
  ApiGatewayManagementApiClient,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { AWS_LIMITS } from '#commons/aws-limits';
import { type Gateway, startGateway } from '../../../local/gateway';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local-account';
import { type LocalStepFunctions, startStepFunctions } from '../../../local/stepfunctions';

jest.setTimeout(60_000);

const FIXTURES = join(__dirname, '..', 'fixtures', 'gateway-handlers');
const DECLARED = 400 * 1024 * 1024;
/** How far past the limit a chunked body may get before the server stops it: socket buffers on both sides. */
const CUT_OFF_SLACK = 16 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** Headers that pass every check made before the body (key, scope, date), with a signature over nothing. */
function signatureHeaders(service: string): Record<string, string> {
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return {
    'X-Amz-Date': amzDate,
    Authorization: `AWS4-HMAC-SHA256 Credential=${LOCAL_CREDENTIALS.accessKeyId}/${amzDate.slice(0, 8)}/${LOCAL_REGION}/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
  };
}

interface Answer {
  /** 0 when the server cut the connection before the answer was read. */
  status: number;
  body: string;
  /** Bytes of body the client had written when the answer came. */
  sent: number;
}

/**
 * A POST that keeps writing its body (chunked, or up to a declared Content-Length it never
 * reaches) until the server answers or cuts the connection; resolves with the answer and how
 * much had been written.
 */
function postUntilAnswered(url: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const request = http.request(url, { method: 'POST', headers, agent: false }, (response) => {
      answered = true;
      const sentWhenAnswered = sent;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, sent: sentWhenAnswered }));
      response.on('error', reject);
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (answered) return;
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve({ status: 0, body: '', sent });
      else reject(error);
    });
    const limit = headers['Content-Length'] ? Number(headers['Content-Length']) - CHUNK.length : DECLARED;
    // One chunk at a time, with a turn of the event loop between: an answer is read before the next write.
    const write = () => {
      if (answered || sent >= limit) return;
      sent += CHUNK.length;
      request.write(CHUNK, () => setImmediate(write));
    };
    request.flushHeaders();
    write();
  });
}

describe('local Step Functions API', () => {
  let sfn: LocalStepFunctions;
  beforeAll(async () => {
    sfn = await startStepFunctions({ lambdas: new Map() });
  });
  afterAll(() => sfn.stop());
  const headers = {
    'Content-Type': 'application/x-amz-json-1.0',
    'X-Amz-Target': 'AWSStepFunctions.ListStateMachines',
  };

  test('an unsigned call is refused before its body is read', async () => {
    const answer = await postUntilAnswered(sfn.endpoint, { ...headers, 'Content-Length': String(DECLARED) });

    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({
      __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
    expect(answer.sent).toBeLessThan(CUT_OFF_SLACK);
  });

  test('a body declared over 1 MB is refused with 413 before it is read', async () => {
    const answer = await postUntilAnswered(sfn.endpoint, {
      ...headers,
      ...signatureHeaders('states'),
      'Content-Length': String(DECLARED),
    });

    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).message).toBe(
      'Request body is over 1,048,576 bytes, the Step Functions API request limit',
    );
    expect(answer.sent).toBeLessThan(CUT_OFF_SLACK);
  });

  test('a chunked body stops being read once past 1 MB', async () => {
    const answer = await postUntilAnswered(sfn.endpoint, {
      ...headers,
      ...signatureHeaders('states'),
      'Transfer-Encoding': 'chunked',
    });

    // The answer, or the cut that follows it when the client writes on: either way the server stopped reading.
    expect([413, 0]).toContain(answer.status);
    expect(answer.sent).toBeLessThan(AWS_LIMITS.stepFunctionsApiRequestBytes.value + CUT_OFF_SLACK);
  });
});

describe('local @connections API', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway({
      handlerOutput: 'ignore',
      port: 0,
      handlers: { connect: join(FIXTURES, 'connect.ts') },
    });
  });
  afterAll(() => gateway.stop());
  const url = () => `${gateway.connectionsEndpoint}/@connections/some-id`;

  test('an unsigned post is refused before its body is read', async () => {
    const answer = await postUntilAnswered(url(), { 'Content-Length': String(DECLARED) });

    expect(answer.status).toBe(403);
    expect(answer.sent).toBeLessThan(CUT_OFF_SLACK);
  });

  test('a body declared over 128 KB is refused with 413 before it is read, a chunked one soon after 128 KB', async () => {
    const declared = await postUntilAnswered(url(), {
      ...signatureHeaders('execute-api'),
      'Content-Length': String(DECLARED),
    });
    const chunked = await postUntilAnswered(url(), {
      ...signatureHeaders('execute-api'),
      'Transfer-Encoding': 'chunked',
    });

    expect(declared.status).toBe(413);
    expect([413, 0]).toContain(chunked.status);
    expect(declared.sent).toBeLessThan(CUT_OFF_SLACK);
    expect(chunked.sent).toBeLessThan(AWS_LIMITS.webSocketMessageBytes.value + CUT_OFF_SLACK);
  });

  test('the SDK still gets PayloadTooLargeException for a message one byte over 128 KB', async () => {
    const client = new ApiGatewayManagementApiClient({
      endpoint: gateway.connectionsEndpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    try {
      for (let attempt = 0; attempt < 20; attempt++) {
        await expect(
          client.send(
            new PostToConnectionCommand({ ConnectionId: 'some-id', Data: Buffer.alloc(128 * 1024 + 1, 0x61) }),
          ),
        ).rejects.toBeInstanceOf(PayloadTooLargeException);
      }
    } finally {
      client.destroy();
    }
  });
});

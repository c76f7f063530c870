import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

// The example reads its secret once, at cold start.
process.env.CONNECT_AUTHORIZER_SECRET = 'a-test-secret-of-some-length';
const { handler, issueToken } =
  require('../../../examples/connect-authorizer') as typeof import('../../../examples/connect-authorizer');

const methodArn = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/live/$connect';
const request = (token?: string) =>
  ({
    type: 'REQUEST',
    methodArn,
    queryStringParameters: token === undefined ? undefined : { token },
  }) as unknown as APIGatewayRequestAuthorizerEvent;
const effectOf = async (token: string) => (await handler(request(token))).policyDocument.Statement[0];
const inAnHour = Math.floor(Date.now() / 1000) + 3_600;

test('a valid, unexpired token is allowed to invoke $connect', async () => {
  await expect(effectOf(issueToken(inAnHour))).resolves.toEqual({
    Action: 'execute-api:Invoke',
    Effect: 'Allow',
    Resource: methodArn,
  });
});

test('no token at all is Unauthorized (API Gateway answers 401)', async () => {
  await expect(handler(request())).rejects.toThrow('Unauthorized');
});

test('an expired, tampered, foreign or malformed token is denied (403)', async () => {
  const [expiry, signature] = issueToken(inAnHour).split('.');
  for (const token of [
    issueToken(Math.floor(Date.now() / 1000) - 1),
    `${Number(expiry) + 1}.${signature}`,
    issueToken(inAnHour, 'another-secret-entirely'),
    'not-a-token',
    `${expiry}.`,
  ]) {
    await expect(effectOf(token)).resolves.toMatchObject({ Effect: 'Deny' });
  }
});

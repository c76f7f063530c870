/**
 * The local console's answers to malformed requests, on a real socket: a malformed %-escape in
 * an id is the caller's mistake (400 saying so), not a failure of the console (500). No Step
 * Functions call is needed to refuse it, so the console points at a port nothing listens on.
 */
import { type ConsoleServer, startConsole } from '../../../local/console/server';

let webConsole: ConsoleServer;
beforeAll(async () => {
  webConsole = await startConsole({
    stepFunctionsEndpoint: 'http://127.0.0.1:9',
    stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:swarmcast-broadcast',
  });
});
afterAll(() => webConsole.stop());

test.each(['/api/executions/%E0%A4%A', '/api/executions/%', '/api/executions/b-1%ZZ/replay'])(
  '%s is answered 400 with what was wrong',
  async (path) => {
    const response = await fetch(new URL(path, webConsole.url), {
      method: path.endsWith('/replay') ? 'POST' : 'GET',
      headers: { 'content-type': 'application/json' },
      body: path.endsWith('/replay') ? '{}' : undefined,
    });

    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /^the id in the path is not a valid %-escaped text: ".*"; escape it with encodeURIComponent$/,
    );
  },
);

test.each([
  [
    { message: 'hi', channel: 'no spaces' },
    /^cannot send: "channel" "no spaces" is not a channel name: it must be 1–64/,
  ],
  [{ message: 'hi', channel: 7 }, /^give the channel as text: \{"message": "\.\.\.", "channel": "name"\}$/],
])('a broadcast to a bad channel %j is answered 400 before anything starts', async (body, error) => {
  const response = await fetch(new URL('/api/broadcasts', webConsole.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

  expect(response.status).toBe(400);
  expect(((await response.json()) as { error: string }).error).toMatch(error);
});

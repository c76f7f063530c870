/**
 * Bad command lines: each is refused with one line that says what was wrong (and, for --endpoint,
 * names the flag), and nothing reaches Step Functions: no execution started, none redriven.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { explainError } from '../../../lib/errors';
import { createProgram } from '../../../cli/program';

const sfn = mockClient(SFNClient);
let tempDir: string;

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'swarmcast-usage-'));
  // No local stack to find: a command that got past its checks would go to the mocked client.
  process.env.SWARMCAST_LOCAL_DIR = path.join(tempDir, 'none');
});
afterAll(async () => {
  delete process.env.SWARMCAST_LOCAL_DIR;
  await rm(tempDir, { recursive: true, force: true });
});
beforeEach(() => {
  sfn.reset();
  sfn
    .on(ListStateMachinesCommand)
    .rejects(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7769'), { code: 'ECONNREFUSED' }));
});

/** Runs the CLI in-process: what it would print on stderr, as main.ts prints it. */
async function stderrOf(...args: string[]): Promise<string> {
  const program = createProgram();
  let written = '';
  const silence = (command: ReturnType<typeof createProgram>): void => {
    command.exitOverride().configureOutput({ writeErr: (text) => (written += text), writeOut: () => undefined });
    command.commands.forEach(silence);
  };
  silence(program);
  await program.parseAsync(['node', 'swarmcast', ...args]).catch((thrown: unknown) => {
    if ((thrown as { code?: string }).code?.startsWith('commander.')) return;
    const error = explainError(thrown);
    written += `swarmcast: ${error instanceof Error ? error.message : String(error)}\n`;
  });
  return written;
}

const nothingStarted = () => {
  expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  expect(sfn.commandCalls(RedriveExecutionCommand)).toHaveLength(0);
};

describe('usage errors are one line, with where to find the usage', () => {
  it.each([
    [['send', '--bogus'], "swarmcast: unknown option '--bogus' (swarmcast --help shows the usage)"],
    [['nosuchcommand'], "swarmcast: unknown command 'nosuchcommand' (swarmcast --help shows the usage)"],
    [['send', '--message'], "swarmcast: option '--message <text>' argument missing (swarmcast --help shows the usage)"],
    [['status'], "swarmcast: missing required argument 'id' (swarmcast --help shows the usage)"],
    [
      ['replay', 'b1', 'b2'],
      /^swarmcast: too many arguments for 'replay'\. Expected 1 argument but got 2\. \(swarmcast --help shows the usage\)$/,
    ],
  ])('%j', async (args, expected) => {
    const lines = (await stderrOf(...args)).trimEnd().split('\n');

    expect(lines).toHaveLength(1);
    expect(lines[0]).toEqual(typeof expected === 'string' ? expected : expect.stringMatching(expected));
    nothingStarted();
  });
});

describe('--endpoint errors name the flag', () => {
  it.each([
    [
      ['status', 'b1', '--endpoint', 'notaurl'],
      'swarmcast: --endpoint must be the http:// or https:// URL of a Step Functions API, e.g. http://127.0.0.1:7701, not "notaurl"',
    ],
    [
      ['send', '--message', 'hi', '--endpoint', 'ftp://127.0.0.1:7701'],
      'swarmcast: --endpoint must be the http:// or https:// URL of a Step Functions API, e.g. http://127.0.0.1:7701, not "ftp://127.0.0.1:7701"',
    ],
    [
      ['send', '--message', 'hi', '--endpoint', 'http://127.0.0.1:7769'],
      'swarmcast: --endpoint http://127.0.0.1:7769 did not answer as a Step Functions API (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:7769); is `swarmcast local` running there?',
    ],
  ])('%j', async (args, expected) => {
    expect((await stderrOf(...args)).trimEnd().split('\n')).toEqual([expected]);
    nothingStarted();
  });
});

describe('integer options take plain decimal digits only', () => {
  it.each(['0x10', ' 7 ', '1e1', '+5', '7.0'])('--limit %j', async (value) => {
    expect((await stderrOf('list', '--limit', value)).trimEnd().split('\n')).toEqual([
      `swarmcast: option '--limit <n>' argument '${value}' is invalid. --limit must be a whole number from 1 to 1,000. (swarmcast --help shows the usage)`,
    ]);
    expect(sfn.commandCalls(ListStateMachinesCommand)).toHaveLength(0);
  });
});

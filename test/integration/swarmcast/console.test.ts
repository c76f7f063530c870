/**
 * The local console in a real headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against the local stack with real WebSocket clients: send from the page, watch the counters
 * reach the client count, replay a failed partition from the page, and see a message that
 * contains HTML shown as text. Everything is asserted on the rendered page.
 */
import { request as httpRequest } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ClientSwarm } from '../../../local/clients/swarm';
import { startConsole, type ConsoleServer } from '../../../local/console/server';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { connectionRows, localDynamo } from '../../../local/inspection';

/** What the functions run inside the page use of it (this project compiles without the DOM library). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };
declare const window: { injected?: boolean };

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const CLIENTS = 120;
const PARTITIONS = 12;
/** 10 % of 12 partitions: one failed partition (8.3 %) is tolerated and named in `failedPartitions`. */
const TOLERATED_FAILURE_PERCENTAGE = 10;
/** While set, DynamoDB answers every Query of these partitions with AccessDeniedException. */
const failingPartitions = new Set<number>();

let stack: LocalStack;
let swarm: ClientSwarm;
let dynamo: DynamoDBDocumentClient;
let webConsole: ConsoleServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    config: {
      partitions: PARTITIONS,
      partitionsPerChild: 1,
      toleratedFailurePercentage: TOLERATED_FAILURE_PERCENTAGE,
      shards: 2,
      connectionIdsPerMessage: 10,
    },
    progressPollMs: 50,
    dynamoDbFaults: (operation, input) => {
      const partition = (input.ExpressionAttributeValues as Record<string, { N?: string }> | undefined)?.[':partition']
        ?.N;
      if (operation === 'Query' && partition !== undefined && failingPartitions.has(Number(partition))) {
        return {
          statusCode: 400,
          errorType: 'AccessDeniedException',
          message: 'injected: not authorized to query this partition',
        };
      }
      return undefined;
    },
  });
  dynamo = localDynamo(stack);
  swarm = await ClientSwarm.connect(stack.webSocketUrl, CLIENTS);
  webConsole = await startConsole({
    stepFunctionsEndpoint: stack.stepFunctionsEndpoint,
    stateMachineArn: stack.stateMachineArn,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  await page.goto(webConsole.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await webConsole?.stop();
  await swarm?.close().catch(() => {});
  await swarm?.stop();
  await stack?.stop();
  dynamo?.destroy();
}, 60_000);

afterEach(() => {
  // A script error or a failed call would show on the page as a stale view, not as a failure.
  expect(pageErrors.splice(0)).toEqual([]);
});

const text = (selector: string) => page.locator(selector).textContent();

/** Waits until every selector shows its text on the page (the page polls; nothing reloads it). */
async function waitForTexts(expected: Record<string, string>, timeoutMs = 60_000): Promise<void> {
  try {
    await page.waitForFunction(
      (want) =>
        Object.entries(want).every(([selector, value]) => document.querySelector(selector)?.textContent === value),
      expected,
      { timeout: timeoutMs, polling: 100 },
    );
  } catch (error) {
    const shown = Object.fromEntries(
      await Promise.all(Object.keys(expected).map(async (selector) => [selector, await text(selector)])),
    );
    throw new Error(
      `the page did not show ${JSON.stringify(expected)}; it shows ${JSON.stringify(shown)} (${(error as Error).message.split('\n')[0]})`,
    );
  }
}

async function sendFromPage(message: string): Promise<string> {
  const before = await text('#execution-id');
  await page.fill('#message', message);
  await page.click('button:has-text("Send message")');
  await page.waitForFunction((previous) => {
    const id = document.querySelector('#execution-id')?.textContent;
    return Boolean(id) && id !== previous;
  }, before);
  const id = (await text('#execution-id'))!;
  expect(await text('#notice')).toBe(`started broadcast ${id}`);
  return id;
}

async function populatedPartition(): Promise<{ partition: number; connections: number }> {
  const { rows } = await connectionRows(dynamo, stack);
  const [partition] = [...rows.keys()].sort((a, b) => a - b);
  return { partition, connections: rows.get(partition)! };
}

test('a message sent from the page reaches every client, and its counters on the page reach the client count', async () => {
  await swarm.watch('console-first');
  const id = await sendFromPage('console-first');

  await waitForTexts({
    '#execution-status': 'SUCCEEDED',
    '#delivery-enqueued': String(CLIENTS),
    '#delivery-delivered': String(CLIENTS),
    '#delivery-gone': '0',
    '#delivery-failed': '0',
    '#partitions-failed': '0',
    '#failed-partitions': 'none',
  });
  expect(await text('#execution-kind')).toBe('broadcast');
  expect(await text('#execution-message')).toBe('console-first');
  expect(await text('#partitions-succeeded')).toBe(await text('#partitions-total'));
  expect(await page.locator('#replay').isDisabled()).toBe(true);
  // The list of recent executions shows it too, with its summary counts.
  const row = page.locator('#executions tr', { has: page.locator(`a[href="#${id}"]`) });
  await row.locator('td', { hasText: `${CLIENTS} / ${CLIENTS}` }).waitFor();
  expect(await row.locator('td').nth(2).textContent()).toBe('SUCCEEDED');
  expect(await swarm.waitForAll(30_000)).toMatchObject({ open: CLIENTS, received: CLIENTS, duplicates: 0 });
});

test('a failed partition shows on the page, and the Replay button sends to just that partition, once', async () => {
  const { partition, connections } = await populatedPartition();
  failingPartitions.add(partition);
  await swarm.watch('console-second');
  const id = await sendFromPage('console-second');

  await waitForTexts({
    '#execution-status': 'SUCCEEDED',
    '#failed-partitions': `partition ${partition}`,
    '#delivery-delivered': String(CLIENTS - connections),
    '#partitions-failed': '1',
  });
  expect(await page.locator('#replay').isEnabled()).toBe(true);
  await page.screenshot({ path: '/tmp/console-test-shot.png' });
  expect((await swarm.waitForAll(3_000)).received).toBe(CLIENTS - connections);

  failingPartitions.clear();
  await page.click('#replay');
  await waitForTexts({
    '#execution-id': `${id}-replay-1`,
    '#execution-kind': 'replay',
    '#execution-status': 'SUCCEEDED',
    '#partitions-total': '1',
    // A replay counts into its broadcast's counters: together they reached every client.
    '#delivery-delivered': String(CLIENTS),
    '#failed-partitions': 'none',
  });
  expect(await text('#notice')).toBe(`replaying partition(s) ${partition} of ${id} as ${id}-replay-1`);
  expect(await swarm.waitForAll(30_000)).toMatchObject({ received: CLIENTS, duplicates: 0 });

  // Back on the broadcast: its replay is listed as having reached everything.
  await page.click(`#executions a[href="#${id}"]`);
  await waitForTexts({ '#execution-id': id, '#replays': `${id}-replay-1 SUCCEEDED, all partitions reached` });
});

test('a message that contains HTML is shown as text, never run', async () => {
  const message = 'console-third <img src=x onerror="window.injected = true"><b>bold?</b>';
  await swarm.watch('console-third');
  await sendFromPage(message);

  await waitForTexts({ '#execution-message': message, '#execution-status': 'SUCCEEDED' });
  expect(await page.locator('#execution-message *').count()).toBe(0);
  expect(await page.locator('img').count()).toBe(0);
  expect(await page.evaluate(() => window.injected)).toBeUndefined();
  expect(await swarm.waitForAll(30_000)).toMatchObject({ received: CLIENTS, duplicates: 0 });
});

/** A raw request, so the Host header can be what a rebound DNS name or another site would send. */
function rawRequest(
  method: string,
  pathName: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(new URL(pathName, webConsole.url), { method, headers }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

test('only the console page itself can start executions: no other host name, no form posts', async () => {
  const port = new URL(webConsole.url).port;
  const json = { 'content-type': 'application/json' };

  expect(await rawRequest('GET', '/api/executions', { host: `rebound.example:${port}` })).toEqual({
    status: 403,
    body: JSON.stringify({ error: `open the console at http://127.0.0.1:${port}/` }),
  });
  expect(
    await rawRequest('POST', '/api/broadcasts', { 'content-type': 'application/x-www-form-urlencoded' }, 'message=hi'),
  ).toMatchObject({ status: 415 });
  expect(await rawRequest('POST', '/api/broadcasts', json, JSON.stringify({ message: '' }))).toEqual({
    status: 400,
    body: JSON.stringify({
      error: 'the message is empty: give the text to send with --message, --message-json or --file',
    }),
  });
  expect(await rawRequest('GET', '/api/executions/no-such-broadcast', {})).toEqual({
    status: 400,
    body: JSON.stringify({
      error: 'no broadcast or sweep with id "no-such-broadcast" on this target; `swarmcast list` shows the recent ones',
    }),
  });
});

/**
 * The fleet file: the cells of a fleet (each one deployed swarmcast stack in its own account or
 * Region), what a client needs to pick one (name, WebSocket URL, weight) and what the operator
 * and the coordinator need to reach it (Region, account, stack, state machine ARN). This file
 * parses and validates it, and ranks the cells for one client by weighted rendezvous hashing.
 * docs/fleet.md describes the format.
 *
 * No imports and nothing Node-only: browsers load the fleet file (fetch, then parseFleet) too.
 *
 * ```ts
 * const fleet = parseFleet(await (await fetch('/fleet.json')).json());
 * const ranking = rankCells(fleet, userId); // ranking[0] is this client's cell while it takes clients
 * ```
 */

/** One cell: one swarmcast stack with its own API Gateway throttle. */
export interface FleetCell {
  /** Unique in the fleet; the rendezvous hash reads it, so renaming a cell moves its clients. */
  name: string;
  /** The cell's WebSocketUrl (wss://, or ws:// on loopback); https:// and http:// are read as wss:// and ws://. */
  url: string;
  /** The cell's share of the clients is its weight over the sum of the weights (default 1). */
  weight: number;
  /** The cell's AWS Region (its default account throttle depends on it). */
  region: string;
  /** The cell's 12-digit AWS account id, if the operator knows it. */
  account?: string;
  /** The cell's CloudFormation stack name, if the operator knows it. */
  stack?: string;
  /** The cell's broadcast state machine, if the operator knows it: what the coordinator starts. */
  stateMachineArn?: string;
  /** The cell's SwarmcastCellAccess role (the CellAccessRoleArn output): what the coordinator assumes to reach it. */
  roleArn?: string;
  /** Only the local stack (loopback http://): the cell's Step Functions API. */
  stepFunctionsEndpoint?: string;
}

/** Where the fleet's coordinator runs: what `swarmcast send --fleet` starts. */
export interface FleetCoordinator {
  /** The fleet state machine (the coordinator stack's FleetStateMachineArn output). */
  stateMachineArn: string;
  /** Only the local stack (loopback http://): the coordinator's Step Functions API. */
  stepFunctionsEndpoint?: string;
}

export interface Fleet {
  cells: FleetCell[];
  coordinator?: FleetCoordinator;
}

/**
 * At most this many cells: the coordinator's Map over the cells runs at most 40 at once
 * (MaxConcurrency in statemachines/fleet.asl.json, test/infra/fleet.test.ts; 40 is also an inline
 * Map's limit, test/unit/client/fleet.test.ts), so every cell starts together.
 */
export const MAX_FLEET_CELLS = 40;

/** A fleet file that cannot be used: the message names the field, what it held and what is allowed. */
export class FleetFileError extends Error {
  override name = 'FleetFileError';
}

const CELL_FIELDS = [
  'name',
  'url',
  'weight',
  'region',
  'account',
  'stack',
  'stateMachineArn',
  'roleArn',
  'stepFunctionsEndpoint',
] as const;
const COORDINATOR_FIELDS = ['stateMachineArn', 'stepFunctionsEndpoint'];
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
const LOOPBACK_HTTP = /^http:\/\/(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?\/?$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
const STACK = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):stateMachine:[A-Za-z0-9_-]{1,80}$/;
const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

// Bound once: a global looked up per character is slow where globals are (a vm context, such as jest's).
const { imul, log } = Math;

const shown = (value: unknown): string => (value === undefined ? 'nothing' : JSON.stringify(value));

/**
 * A fleet from a fleet file's JSON (its text, or the value `JSON.parse` or `fetch(...).json()` gave).
 * Throws FleetFileError on the first thing wrong; `source` names the file in the message.
 */
export function parseFleet(input: unknown, source = 'fleet file'): Fleet {
  const fail = (what: string): never => {
    throw new FleetFileError(`${source}: ${what}`);
  };
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      fail(`not JSON (${(error as Error).message})`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(`must be a JSON object { "cells": [...] }, got ${Array.isArray(value) ? 'an array' : shown(value)}`);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record))
    if (key !== 'cells' && key !== 'coordinator')
      fail(`unknown field "${key}" at the top; allowed: "cells", "coordinator"`);
  const cells = record.cells;
  if (!Array.isArray(cells) || cells.length === 0 || cells.length > MAX_FLEET_CELLS)
    fail(
      `"cells" must be an array of 1 to ${MAX_FLEET_CELLS} cells, got ${Array.isArray(cells) ? `${cells.length}` : shown(cells)}`,
    );

  const parsed = (cells as unknown[]).map((cell, i) => parseCell(cell, `cells[${i}]`, fail));
  const seen = { names: new Map<string, number>(), urls: new Map<string, number>() };
  parsed.forEach((cell, i) => {
    const name = seen.names.get(cell.name);
    if (name !== undefined) fail(`cells[${i}].name "${cell.name}" is also cells[${name}]'s; names must be unique`);
    seen.names.set(cell.name, i);
    const url = seen.urls.get(cell.url);
    if (url !== undefined) fail(`cells[${i}].url "${cell.url}" is also cells[${url}]'s; each cell has its own API`);
    seen.urls.set(cell.url, i);
  });
  const coordinator = record.coordinator === undefined ? undefined : parseCoordinator(record.coordinator, fail);
  return { cells: parsed, ...(coordinator && { coordinator }) };
}

function parseCoordinator(value: unknown, fail: (what: string) => never): FleetCoordinator {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(`"coordinator" must be an object with "stateMachineArn", got ${shown(value)}`);
  const coordinator = value as Record<string, unknown>;
  for (const key of Object.keys(coordinator))
    if (!COORDINATOR_FIELDS.includes(key))
      fail(`coordinator has an unknown field "${key}"; allowed: "stateMachineArn", "stepFunctionsEndpoint"`);
  const { stateMachineArn, stepFunctionsEndpoint } = coordinator;
  if (typeof stateMachineArn !== 'string' || !STATE_MACHINE_ARN.test(stateMachineArn))
    fail(
      `coordinator.stateMachineArn must be a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME), got ${shown(stateMachineArn)}`,
    );
  checkLoopbackEndpoint(stepFunctionsEndpoint, 'coordinator.stepFunctionsEndpoint', fail);
  return {
    stateMachineArn: stateMachineArn as string,
    ...(stepFunctionsEndpoint === undefined ? {} : { stepFunctionsEndpoint: stepFunctionsEndpoint as string }),
  };
}

/** An endpoint only the local stack has: loopback http://, so a fleet file cannot send the coordinator elsewhere. */
function checkLoopbackEndpoint(value: unknown, at: string, fail: (what: string) => never): void {
  if (value !== undefined && (typeof value !== 'string' || !LOOPBACK_HTTP.test(value)))
    fail(
      `${at} must be a loopback http:// URL such as "http://127.0.0.1:7701" (the local stack only), got ${shown(value)}`,
    );
}

function parseCell(value: unknown, at: string, fail: (what: string) => never): FleetCell {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(`${at} must be an object with "name", "url" and "region", got ${shown(value)}`);
  const cell = value as Record<string, unknown>;
  for (const key of Object.keys(cell))
    if (!(CELL_FIELDS as readonly string[]).includes(key))
      fail(`${at} has an unknown field "${key}"; allowed: ${CELL_FIELDS.map((field) => `"${field}"`).join(', ')}`);

  const { name, weight = 1, region, account, stack, stateMachineArn, roleArn, stepFunctionsEndpoint } = cell;
  if (typeof name !== 'string' || !NAME.test(name))
    fail(
      `${at}.name must be 1 to 40 letters, digits, "-" or "_" (starting with a letter or digit), got ${shown(name)}`,
    );
  const url = cellUrl(cell.url, `${at}.url`, fail);
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0)
    fail(`${at}.weight must be a positive number (the cell's share of clients; default 1), got ${shown(weight)}`);
  if (typeof region !== 'string' || !REGION.test(region))
    fail(`${at}.region must be an AWS Region such as "eu-west-1", got ${shown(region)}`);
  if (account !== undefined && (typeof account !== 'string' || !ACCOUNT.test(account)))
    fail(`${at}.account must be a 12-digit AWS account id as a string, got ${shown(account)}`);
  if (stack !== undefined && (typeof stack !== 'string' || !STACK.test(stack)))
    fail(
      `${at}.stack must be a CloudFormation stack name (a letter, then up to 127 letters, digits or "-"), got ${shown(stack)}`,
    );
  if (stateMachineArn !== undefined) {
    const arn = typeof stateMachineArn === 'string' ? STATE_MACHINE_ARN.exec(stateMachineArn) : null;
    if (!arn)
      fail(
        `${at}.stateMachineArn must be a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME), got ${shown(stateMachineArn)}`,
      );
    else if (arn[1] !== region)
      fail(`${at}.stateMachineArn is in Region ${arn[1]}, but the cell's region is ${region as string}`);
    else if (account !== undefined && arn[2] !== account)
      fail(`${at}.stateMachineArn is in account ${arn[2]}, but the cell's account is ${account as string}`);
  }
  if (roleArn !== undefined) {
    const role = typeof roleArn === 'string' ? ROLE_ARN.exec(roleArn) : null;
    if (!role) fail(`${at}.roleArn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), got ${shown(roleArn)}`);
    else if (account !== undefined && role[1] !== account)
      fail(`${at}.roleArn is in account ${role[1]}, but the cell's account is ${account as string}`);
  }
  checkLoopbackEndpoint(stepFunctionsEndpoint, `${at}.stepFunctionsEndpoint`, fail);
  return {
    name: name as string,
    url,
    weight: weight as number,
    region: region as string,
    ...(account === undefined ? {} : { account: account as string }),
    ...(stack === undefined ? {} : { stack: stack as string }),
    ...(stateMachineArn === undefined ? {} : { stateMachineArn: stateMachineArn as string }),
    ...(roleArn === undefined ? {} : { roleArn: roleArn as string }),
    ...(stepFunctionsEndpoint === undefined ? {} : { stepFunctionsEndpoint: stepFunctionsEndpoint as string }),
  };
}

/** A cell's URL as a WebSocket opens it: wss:// (https:// read as it), ws:// (http://) only on loopback, no fragment. */
function cellUrl(value: unknown, at: string, fail: (what: string) => never): string {
  const allowed = 'wss:// (or https://), or ws:// on loopback (localhost, 127.x.x.x, [::1])';
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url) return fail(`${at} must be a URL, ${allowed}, got ${shown(value)}`);
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  const plain = url.protocol === 'ws:' || url.protocol === 'http:';
  if (!secure && !(plain && LOOPBACK_HOSTS.test(url.hostname))) fail(`${at} must be ${allowed}, got ${shown(value)}`);
  if (url.hash) fail(`${at} must not have a #fragment (a WebSocket URL cannot), got ${shown(value)}`);
  url.protocol = secure ? 'wss:' : 'ws:';
  return url.href;
}

/**
 * The cells in this client's order of preference: weighted rendezvous hashing (highest random
 * weight). Each cell scores `weight / -ln(u)` with `u` in (0, 1) a hash of the cell's name and
 * the client's key; the highest score wins. So a cell's share of the clients is its weight over
 * the sum of the weights, a client keeps its cell while the fleet stays the same, and a cell
 * added (or removed) moves only the clients that now rank it first (or ranked it first).
 */
export function rankCells(fleet: Fleet, clientKey: string): FleetCell[] {
  const scored = fleet.cells.map((cell) => ({
    cell,
    score: cell.weight / -log(unitHash(`${cell.name}\n${clientKey}`)),
  }));
  scored.sort((a, b) => b.score - a.score || (a.cell.name < b.cell.name ? -1 : 1));
  return scored.map(({ cell }) => cell);
}

/** A string's 53-bit hash (cyrb53: two multiply-xorshift lanes), mapped into (0, 1): never 0, so the log above is finite. */
export function unitHash(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = imul(h1 ^ c, 2654435761);
    h2 = imul(h2 ^ c, 1597334677);
  }
  h1 = imul(h1 ^ (h1 >>> 16), 2246822507) ^ imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = imul(h2 ^ (h2 >>> 16), 2246822507) ^ imul(h1 ^ (h1 >>> 13), 3266489909);
  const bits = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return (bits + 0.5) / 2 ** 53;
}

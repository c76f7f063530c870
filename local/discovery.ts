/**
 * `swarmcast local` writes where its services listen to a well-known file, so the CLI
 * finds the running local stack without flags.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LocalStackEndpoints } from './stack';

export interface PublishedLocalStack extends LocalStackEndpoints {
  /** The `swarmcast local` process: a file whose process is gone is stale. */
  pid: number;
}

export const discoveryFile = (): string => process.env.SWARMCAST_LOCAL_FILE ?? path.join(os.tmpdir(), 'swarmcast-local.json');

async function publishEndpoints(endpoints: PublishedLocalStack): Promise<void> {
  await writeFile(discoveryFile(), JSON.stringify(endpoints, null, 2));
}

/** Publishes a running stack's endpoints under this process's id. */
export async function publishLocalStack(stack: LocalStackEndpoints): Promise<void> {
  const { region, webSocketUrl, connectionsEndpoint, stepFunctionsEndpoint, dynamoDbEndpoint, sqsEndpoint, stateMachineArn } = stack;
  await publishEndpoints({ pid: process.pid, region, webSocketUrl, connectionsEndpoint, stepFunctionsEndpoint, dynamoDbEndpoint, sqsEndpoint, stateMachineArn });
}

export async function unpublishEndpoints(): Promise<void> {
  await rm(discoveryFile(), { force: true });
}

/** The running local stack's endpoints, or undefined when none runs (a stale file is ignored). */
export async function findLocalStack(): Promise<PublishedLocalStack | undefined> {
  let endpoints: PublishedLocalStack;
  try {
    endpoints = JSON.parse(await readFile(discoveryFile(), 'utf8'));
  } catch {
    return undefined;
  }
  try {
    process.kill(endpoints.pid, 0); // signal 0 only asks whether the process exists
    return endpoints;
  } catch {
    return undefined;
  }
}

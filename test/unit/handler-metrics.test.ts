import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';

// As Powertools' docs suggest for tests: POWERTOOLS_DEV sends the EMF lines to the global
// console, where a spy reads them; metrics are turned back on (setup-env turns them off).
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'false';

const dynamo = mockClient(DynamoDBDocumentClient);
const connectEvent = { requestContext: { connectionId: 'c1' } } as unknown as APIGatewayProxyWebsocketEventV2;

/** The EMF documents printed during `run`. */
async function emitted(run: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await run().catch(() => undefined);
    return log.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
  } finally {
    log.mockRestore();
  }
}

describe('handler metrics', () => {
  beforeEach(() => dynamo.reset());

  it('$connect publishes one Connects count in the Swarmcast namespace, dimensioned by service only', async () => {
    dynamo.onAnyCommand().resolves({});
    const { handler } = await import('../../functions/connect');

    const [document] = await emitted(() => handler(connectEvent));

    expect(document).toMatchObject({ Connects: 1, service: 'swarmcast' });
    const [directive] = (document._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] }).CloudWatchMetrics;
    expect(directive).toMatchObject({ Namespace: 'Swarmcast', Dimensions: [['service']] });
  });

  it('counts no connect that did not happen', async () => {
    dynamo.onAnyCommand().rejects(new Error('table unavailable'));
    const { handler } = await import('../../functions/connect');

    const documents = await emitted(() => handler(connectEvent));

    expect(documents.some((document) => 'Connects' in document)).toBe(false);
  });
});

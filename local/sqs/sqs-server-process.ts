/** Child entry: local-aws-sqs on 127.0.0.1:0 (see ../dynamodb/child-server.ts). argv[2]: {region, accountId}. */
import { createSqsServer } from 'local-aws-sqs';
import { serveFromChild } from '../child-server';

const { region, accountId } = JSON.parse(process.argv[2] ?? '{}') as { region: string; accountId: string };

// createSqsServer (not createRequestHandler) because queue URLs take the port it learns once listening.
createSqsServer({ port: 0, hostname: '127.0.0.1', region, accountId, emulateQueueCreationLifecycle: false }).then(
  serveFromChild,
);

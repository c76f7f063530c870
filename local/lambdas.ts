/** The names and entry files of the stack's Lambda functions, as the CDK stack and the local stack use them. */
import path from 'node:path';
import type { FunctionName } from '../functions/manifest';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../lib/local-account';

export type { FunctionName };

export const functionArn = (name: FunctionName): string =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:swarmcast-${name}`;
export const handlerModule = (name: FunctionName): string => path.join(__dirname, '..', 'functions', `${name}.ts`);

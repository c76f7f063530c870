/** The ARNs and entry files of the stack's Lambda functions (functions/catalog.ts), as the local stack uses them. */
import path from 'node:path';
import { FUNCTION_CATALOG, type FunctionName } from '../functions/catalog';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../lib/local-account';

export type { FunctionName };

export const functionArn = (name: FunctionName): string =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:swarmcast-${name}`;
export const handlerModule = (name: FunctionName): string =>
  path.join(__dirname, '..', 'functions', FUNCTION_CATALOG[name].handler);

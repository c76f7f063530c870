/**
 * The $connect authorizer, as API Gateway runs a Lambda REQUEST authorizer before $connect:
 * the handler gets the upgrade request's headers and query string with `type: "REQUEST"` and the
 * route's `methodArn`; an "Unauthorized" error refuses the client with 401, a policy that does not
 * allow execute-api:Invoke on the route refuses it with 403, anything else with 500.
 */
import { connectEvent, type ConnectionFacts } from './lambda-events';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../lib/local-account';
import type { RouteHandler } from './route-handlers';

export type AuthorizerDecision =
  | { allowed: true; context?: Record<string, unknown>; principalId?: string }
  | { allowed: false; status: 401 | 403 | 500 };

interface PolicyStatement {
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
}

export function authorizerEvent(facts: ConnectionFacts, query: URLSearchParams, region: string) {
  const methodArn = `arn:aws:execute-api:${region}:${LOCAL_ACCOUNT}:${facts.apiId}/${facts.stage}/$connect`;
  return { ...connectEvent(facts, query), type: 'REQUEST', methodArn };
}

export async function authorizeConnect(
  authorizer: RouteHandler,
  facts: ConnectionFacts,
  query: URLSearchParams,
  region = LOCAL_REGION,
): Promise<AuthorizerDecision> {
  const event = authorizerEvent(facts, query, region);
  const outcome = await authorizer.invoke(event);
  if (outcome.kind === 'failed') {
    if ((outcome.error as Error)?.message === 'Unauthorized') return { allowed: false, status: 401 };
    console.error(`[gateway] ${authorizer.functionName} failed:`, outcome.error);
    return { allowed: false, status: 500 };
  }
  if (outcome.kind === 'timedOut') return { allowed: false, status: 500 };
  const result = outcome.value as {
    principalId?: string;
    policyDocument?: { Statement?: PolicyStatement[] };
    context?: Record<string, unknown>;
  } | null;
  const statements = result?.policyDocument?.Statement;
  if (!Array.isArray(statements)) {
    console.error(`[gateway] ${authorizer.functionName} returned no policyDocument.Statement`);
    return { allowed: false, status: 500 };
  }
  const matching = statements.filter(
    (statement) =>
      invokes(statement) && list(statement.Resource).some((resource) => arnMatches(resource, event.methodArn)),
  );
  if (
    matching.some((statement) => statement.Effect === 'Deny') ||
    !matching.some((statement) => statement.Effect === 'Allow')
  )
    return { allowed: false, status: 403 };
  return { allowed: true, context: result?.context, principalId: result?.principalId };
}

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const invokes = (statement: PolicyStatement) =>
  list(statement.Action).some((action) => arnMatches(action, 'execute-api:Invoke'));

/** IAM-style match: `*` any run of characters, `?` one. */
function arnMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return regex.test(value);
}

/**
 * One budget per account and Region (issue 20): a stack given sharedRateBudgetTable creates no
 * budget table of its own, and its consumer leases on the named one — so two stacks in one account
 * draw on one delivery budget. Every stack says its budget's name in the RateBudgetTableName output.
 */
import { rateBudgetTable } from '#commons/tables';
import { ENV } from '#commons/environment';
import { resolveConfig } from '../../infra/config';
import { synthesize } from './synth';

const SHARED = 'Swarmcast-RateBudget-ABC123';

describe('a stack that shares another stack`s budget', () => {
  const { template } = synthesize({ shards: 2, sharedRateBudgetTable: SHARED }, { bundle: false });
  const functions = template.findResources('AWS::Lambda::Function');
  const postMessage = Object.values(functions).find(
    (fn) => fn.Properties.Environment?.Variables?.[ENV.rateBudgetTable] !== undefined,
  );

  test('creates no budget table of its own: one table fewer than a stack with its own budget', () => {
    const tablesOf = (t: typeof template) => Object.keys(t.findResources('AWS::DynamoDB::GlobalTable'));
    const own = tablesOf(synthesize({ shards: 2 }, { bundle: false }).template);
    expect(tablesOf(template).some((id) => id.startsWith(rateBudgetTable.logicalName))).toBe(false);
    expect(tablesOf(template)).toHaveLength(own.length - 1);
  });

  test('its consumer reads the shared table by name and may lease there, and the output names it', () => {
    expect(postMessage?.Properties.Environment.Variables[ENV.rateBudgetTable]).toBe(SHARED);
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain(`:table/${SHARED}"`);
    expect(template.toJSON().Outputs.RateBudgetTableName.Value).toBe(SHARED);
  });
});

test('a stack with a budget of its own names it in the RateBudgetTableName output', () => {
  const { template } = synthesize({ shards: 2 }, { bundle: false });
  expect(JSON.stringify(template.toJSON().Outputs.RateBudgetTableName.Value)).toContain(rateBudgetTable.logicalName);
});

test('sharedRateBudgetTable must be a table name', () => {
  expect(() => resolveConfig({ sharedRateBudgetTable: 'no spaces allowed' })).toThrow(
    /sharedRateBudgetTable="no spaces allowed" must be a DynamoDB table name/,
  );
  expect(resolveConfig({ sharedRateBudgetTable: SHARED }).sharedRateBudgetTable).toBe(SHARED);
});

/**
 * Each handler module loaded as Lambda loads it on a cold start, with only the variables
 * functions/catalog.ts implies for it (the ones the CDK stack sets): it must start, and must fail,
 * naming the variable, when any one of them is missing. So the catalog (and with it the
 * stack, test/infra/catalog.test.ts) can neither miss a variable a handler reads nor list one it does not.
 */
import { ENV } from '#commons/environment';
import { FUNCTION_CATALOG, type FunctionName, variablesOf } from '../../../functions/catalog';

/** The full set test/unit/setup-env.ts gives every unit test: the values to pick from. */
const valid = { ...process.env };
const ours = new Set<string>(Object.values(ENV));

function coldStart(name: FunctionName, variables: readonly string[]): unknown {
  const saved = process.env;
  process.env = Object.fromEntries(Object.entries(valid).filter(([key]) => !ours.has(key) || variables.includes(key)));
  try {
    let handler: unknown;
    jest.isolateModules(() => {
      handler = (require(`../../../functions/${FUNCTION_CATALOG[name].handler}`) as { handler: unknown }).handler;
    });
    return handler;
  } finally {
    process.env = saved;
  }
}

// Each load re-reads the SDK modules in a fresh registry.
jest.setTimeout(60_000);

describe.each(Object.keys(FUNCTION_CATALOG) as FunctionName[])('%s', (name) => {
  const variables = variablesOf(FUNCTION_CATALOG[name]);

  test('starts with exactly the variables its catalog entry implies', () => {
    expect(typeof coldStart(name, variables)).toBe('function');
  });

  // $default reads none: its "starts" test above, with no variable of ours, is the whole check.
  if (variables.length > 0) {
    test.each(variables.map((variable) => [variable]))('fails at cold start, naming it, without %s', (missing) => {
      expect(() =>
        coldStart(
          name,
          variables.filter((variable) => variable !== missing),
        ),
      ).toThrow(new RegExp(`\\b${missing}\\b`));
    });
  }
});

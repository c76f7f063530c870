/** statemachines/broadcast.asl.json against statemachines/broadcast-contract.ts: what the CLI and both stacks rely on is there. */
import { readFileSync } from 'node:fs';
import {
  BROADCAST_ASL_FILE,
  FUNCTION_ARN_PLACEHOLDERS,
  READ_PROGRESS_RESULT_PATH,
  READ_PROGRESS_STATE,
} from '../../statemachines/broadcast-contract';
import { catalogEntries } from '../../functions/catalog';

const text = readFileSync(BROADCAST_ASL_FILE, 'utf8');
const definition = JSON.parse(text);

test('the ASL uses exactly the contract placeholders', () => {
  const used = new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]));
  expect([...used].sort()).toEqual(Object.values(FUNCTION_ARN_PLACEHOLDERS).sort());
});

test('the progress state is a top-level task invoking read-progress, its result at the contract path', () => {
  const state = definition.States[READ_PROGRESS_STATE];
  expect(state).toMatchObject({ Type: 'Task', ResultPath: READ_PROGRESS_RESULT_PATH });
  expect(JSON.stringify(state)).toContain(`\${${FUNCTION_ARN_PLACEHOLDERS['read-progress']}}`);
});

/** A state by name, at the top level or inside a Map's ItemProcessor. */
function findState(states: Record<string, any>, name: string): any {
  for (const [key, state] of Object.entries(states)) {
    if (key === name) return state;
    const inner = state.ItemProcessor?.States && findState(state.ItemProcessor.States, name);
    if (inner) return inner;
  }
  return undefined;
}

test.each(
  catalogEntries().flatMap(([name, { trigger }]) => (trigger.kind === 'stateMachineTask' ? [[name, trigger]] : [])),
)("%s: the catalog's state is a Lambda task of the ASL invoking its placeholder", (_name, trigger) => {
  const state = findState(definition.States, trigger.state);

  expect(state).toMatchObject({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke' });
  expect(JSON.stringify(state.Parameters)).toContain(`\${${trigger.arnPlaceholder}}`);
});

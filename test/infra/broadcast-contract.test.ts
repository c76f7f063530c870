/** statemachines/broadcast.asl.json against statemachines/broadcast-contract.ts: what the CLI and both stacks rely on is there. */
import { readFileSync } from 'node:fs';
import {
  BROADCAST_ASL_FILE,
  FUNCTION_ARN_PLACEHOLDERS,
  READ_PROGRESS_RESULT_PATH,
  READ_PROGRESS_STATE,
} from '../../statemachines/broadcast-contract';

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

import { readFileSync } from 'node:fs';
import * as path from 'node:path';

// asl-validator ships no types: it is a function of the definition returning {isValid, errors}.
const aslValidator: (definition: unknown) => { isValid: boolean; errors: unknown[] } = require('asl-validator');

const definition = JSON.parse(readFileSync(path.join(__dirname, '../../statemachines/broadcast.asl.json'), 'utf8'));

test('statemachines/broadcast.asl.json is valid Amazon States Language', () => {
  const { isValid, errors } = aslValidator(definition);
  expect(errors).toEqual([]);
  expect(isValid).toBe(true);
});

test('the validator catches a broken Distributed Map (so the test above can fail)', () => {
  const broken = structuredClone(definition);
  broken.States.FanOut.ItemProcessor.ProcessorConfig.Mode = 'PARALLEL';
  expect(aslValidator(broken).isValid).toBe(false);
});

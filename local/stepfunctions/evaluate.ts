/**
 * Evaluates ASL payload templates and paths (`"key.$": "$.path"`, intrinsic functions,
 * `$$` context) with aws-local-stepfunctions itself, through a one-state Pass machine,
 * so the Distributed Map fields we interpret read their paths exactly as the rest of the ASL.
 */
import { StateMachine } from 'aws-local-stepfunctions';

type Json = any;

export async function evaluateTemplate(
  template: Json,
  input: Json,
  context: Record<string, unknown> = {},
): Promise<Json> {
  const machine = new StateMachine(
    { StartAt: 'Evaluate', States: { Evaluate: { Type: 'Pass', Parameters: template, End: true } } },
    { validationOptions: { noValidate: true } },
  );
  return machine.run(input, { context }).result;
}

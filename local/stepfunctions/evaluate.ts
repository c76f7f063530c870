/**
 * Evaluates ASL payload templates and paths (`"key.$": "$.path"`, intrinsic functions,
 * `$$` context) with aws-local-stepfunctions itself, through a one-state Pass machine,
 * so the Distributed Map fields we interpret read their paths exactly as the rest of the ASL.
 */
import { StateMachine } from 'aws-local-stepfunctions';

type Json = any;

export async function evaluateTemplate(template: Json, input: Json, context: Record<string, unknown> = {}): Promise<Json> {
  const machine = new StateMachine(
    { StartAt: 'Evaluate', States: { Evaluate: { Type: 'Pass', Parameters: template, End: true } } },
    { validationOptions: { noValidate: true } },
  );
  return machine.run(input, { context }).result;
}

/** Values at JSONPaths of the input; entries whose path is undefined stay undefined. */
export async function evaluatePaths<K extends string>(paths: Record<K, string | undefined>, input: Json): Promise<Record<K, Json>> {
  const template: Record<string, string> = {};
  for (const [key, path] of Object.entries(paths)) if (path) template[`${key}.$`] = path as string;
  if (Object.keys(template).length === 0) return {} as Record<K, Json>;
  return evaluateTemplate(template, input);
}

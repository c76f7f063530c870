/**
 * The `swarmcast` entry point (cli/bin/swarmcast.cjs): runs the command line and reports any error
 * as one line and an exit code.
 */
import { createProgram } from './program';
import { CliError, EXIT, explainError } from './errors';

const program = createProgram();

program.parseAsync(process.argv).catch((thrown: unknown) => {
  const error = explainError(thrown);
  console.error(`swarmcast: ${error instanceof Error ? error.message : String(error)}`);
  if (program.opts().verbose && thrown instanceof Error) console.error(thrown.stack);
  process.exitCode = error instanceof CliError ? error.exitCode : EXIT.error;
});

/** The CLI's errors and exit codes. */
import { SwarmcastError } from '../lib/errors';

/** An error the CLI prints as one line (main.ts) and exits with its exitCode: the library's SwarmcastError. */
export const CliError = SwarmcastError;
export type CliError = SwarmcastError;
export { explainError } from '../lib/errors';

/** Exit codes scripts can tell apart: the command could not run, or it ran and the broadcast did not reach everyone. */
export const EXIT = { error: 1, broadcastIncomplete: 2 } as const;

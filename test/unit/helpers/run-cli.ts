/** Runs one `swarmcast` command in-process: what it printed, or the one-line error it stopped with. */
import type { Command } from 'commander';
import { CliError } from '../../../cli/errors';
import { createProgram } from '../../../cli/program';

export async function runCli(commandName: string, args: string[]): Promise<{ out: string; error?: string }> {
  const program = createProgram();
  const command = program.commands.find((c) => c.name() === commandName) as Command;
  let errorText: string | undefined;
  for (const each of [program, command]) {
    each.exitOverride().configureOutput({
      writeErr: (text) => (errorText ??= text.split('\n')[0]),
      writeOut: () => undefined,
      outputError: (text) => (errorText ??= text.split('\n')[0]),
    });
  }
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  try {
    await program.parseAsync(['node', 'swarmcast', commandName, ...args]);
  } catch (error) {
    if (error instanceof CliError) errorText = error.message;
    else if (!errorText) throw error;
  } finally {
    log.mockRestore();
  }
  return { out: lines.join('\n'), error: errorText };
}

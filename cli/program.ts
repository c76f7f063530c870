/** The `swarmcast` command line: its commands, global options and help, built without running anything. */
import { Command, Option } from 'commander';
import { registerDemoCommand } from './commands/demo';
import { registerListCommand } from './commands/list';
import { registerLocalCommand } from './commands/local';
import { registerPlanCommand } from './commands/plan';
import { registerReplayCommand } from './commands/replay';
import { registerSendCommand } from './commands/send';
import { registerStatusCommand } from './commands/status';
import { registerSweepCommand } from './commands/sweep';

/** "error: unknown option '--bogus'" → "swarmcast: unknown option '--bogus' (swarmcast --help shows the usage)". */
export function usageErrorLine(text: string): string {
  const [first] = text.trim().split('\n');
  return `swarmcast: ${first.replace(/^error: /, '')} (swarmcast --help shows the usage)\n`;
}

/** Every command of `swarmcast`; built by a function so tests can read each command's help. */
export function createProgram(): Command {
  const program = new Command()
    .name('swarmcast')
    .description(
      'Broadcast one message to every client of an API Gateway WebSocket API — on AWS, or on the local stack.',
    )
    .addOption(new Option('--verbose', 'show stack traces of errors'))
    // A usage error is one line that says what was wrong and where the usage is, not the whole help.
    .configureOutput({ outputError: (text, write) => write(usageErrorLine(text)) })
    .addHelpText(
      'after',
      `
Target: --state-machine-arn / --endpoint / --stack if given, else the running \`swarmcast local\`,
else the AWS stack "Swarmcast" (Region and credentials from the standard AWS SDK chain).
Exit codes: 0 ok, 1 the command could not run, 2 the broadcast did not reach every partition.`,
    );
  registerSendCommand(program);
  registerStatusCommand(program);
  registerListCommand(program);
  registerReplayCommand(program);
  registerSweepCommand(program);
  registerPlanCommand(program);
  registerDemoCommand(program);
  registerLocalCommand(program);
  return program;
}

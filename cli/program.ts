import { Command, Option } from 'commander';
import { registerDemoCommand } from './commands/demo';
import { registerListCommand } from './commands/list';
import { registerLocalCommand } from './commands/local';
import { registerPlanCommand } from './commands/plan';
import { registerReplayCommand } from './commands/replay';
import { registerSendCommand } from './commands/send';
import { registerStatusCommand } from './commands/status';
import { registerSweepCommand } from './commands/sweep';

/** Every command of `swarmcast`; built by a function so tests can read each command's help. */
export function createProgram(): Command {
  const program = new Command()
    .name('swarmcast')
    .description('Broadcast one message to every client of an API Gateway WebSocket API — on AWS, or on the local stack.')
    .addOption(new Option('--verbose', 'show stack traces of errors'))
    .showHelpAfterError()
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

import { Command, Option } from 'commander';
import { registerDemoCommand } from './commands/demo';
import { registerLocalCommand } from './commands/local';
import { CliError } from './errors';

const program = new Command()
  .name('swarmcast')
  .description('Broadcast one message to every client of an API Gateway WebSocket API — on AWS, or on the local stack.')
  .addOption(new Option('--verbose', 'show stack traces of errors'))
  .showHelpAfterError();

registerDemoCommand(program);
registerLocalCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const verbose = program.opts().verbose;
  if (error instanceof CliError && !verbose) {
    console.error(`swarmcast: ${error.message}`);
  } else {
    console.error(verbose && error instanceof Error ? error.stack : `swarmcast: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exitCode = error instanceof CliError ? error.exitCode : 1;
});

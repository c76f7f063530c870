/** The target flags of every command that talks to a stack, and how a command runs on the target they name (lib/target.ts). */
import { Option, type Command } from 'commander';
import { DEFAULT_STACK_NAME, onTarget, type Target, type TargetOptions } from '../lib/target';

/** The flags every command that talks to a stack takes. */
export function addTargetOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--stack <name>',
        `AWS: read the state machine from this CloudFormation stack's outputs (default "${DEFAULT_STACK_NAME}" when no local stack runs)`,
      ),
    )
    .addOption(new Option('--state-machine-arn <arn>', 'use this state machine (wins over --stack)'))
    .addOption(
      new Option('--endpoint <url>', 'the Step Functions API of a local stack, e.g. http://127.0.0.1:7701').conflicts(
        'stack',
      ),
    )
    .addOption(
      new Option('--local', 'use the running `swarmcast local` stack; fail if none runs').conflicts([
        'stack',
        'stateMachineArn',
        'endpoint',
      ]),
    );
}

/** Resolves the target, says on stderr which one is used, runs `work`, and closes the client. */
export function withTarget<T>(options: TargetOptions, work: (target: Target) => Promise<T>): Promise<T> {
  return onTarget(options, work, (target) => process.stderr.write(`swarmcast: using ${target.description}\n`));
}

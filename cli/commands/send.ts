import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import { checkBroadcastId, newBroadcastId } from '../broadcast-ids';
import { readBroadcastInput, type PayloadOptions } from '../payload';
import { reportStarted, waitAndReport } from '../report';
import { addTargetOptions, withTarget, type TargetOptions } from '../target';

interface SendOptions extends PayloadOptions, TargetOptions {
  id?: string;
  wait?: boolean;
}

export function registerSendCommand(program: Command): void {
  const command = program
    .command('send')
    .description('start a broadcast of one message to every connected client')
    .option('--message <text>', 'the message, sent as text')
    .option('--json <json>', 'the message as a JSON value, e.g. \'{"type":"notice","text":"hi"}\'')
    .option('--file <path>', 'send this file: a .json file as a JSON value, any other file as text')
    .option('--id <id>', 'the broadcast id (the execution name); default b-<UTC time>-<random>')
    .option('--wait', 'show progress until the broadcast ends, then its summary; exit 2 if it did not reach every partition');
  addTargetOptions(command).action(async (options: SendOptions) => {
    // Checked before the target is even resolved: a bad message starts nothing.
    const input = await readBroadcastInput(options);
    const id = options.id === undefined ? newBroadcastId() : checkBroadcastId(options.id, '--id');
    await withTarget(options, async (target) => {
      const { executionArn } = await target.sfn.send(new StartExecutionCommand({ stateMachineArn: target.stateMachineArn, name: id, input: JSON.stringify(input) }));
      reportStarted(`started broadcast ${id}`, id, executionArn!, Boolean(options.wait));
      if (options.wait) await waitAndReport(target, id);
    });
  });
}

/** `swarmcast send`: starts a broadcast of one message, checked (lib/payload.ts) before anything starts. */
import type { Command } from 'commander';
import { checkBroadcastId } from '../../lib/broadcast-ids';
import { broadcast } from '../../lib';
import { readBroadcastInput, type PayloadOptions } from '../../lib/payload';
import { reportAndWait, type OutputOptions } from '../report';
import type { TargetOptions } from '../../lib/target';
import { addTargetOptions, withTarget } from '../target';
import { fleetOption, sendToFleet } from '../fleet';

interface SendOptions extends PayloadOptions, TargetOptions, OutputOptions {
  id?: string;
  fleet?: string;
}

export function registerSendCommand(program: Command): void {
  const command = program
    .command('send')
    .description('start a broadcast of one message to every connected client, or to the members of one channel')
    .option('--message <text>', 'the message, sent as text')
    .option('--message-json <json>', 'the message as a JSON value, e.g. \'{"type":"notice","text":"hi"}\'')
    .option('--file <path>', 'send this file: a .json file as a JSON value, any other file as text')
    .option('--channel <name>', "send to this channel's members only (docs/channels.md); default every client")
    .option('--id <id>', 'the broadcast id (the execution name); default b-<UTC time>-<random>')
    .option(
      '--wait',
      'show progress until the broadcast ends, then its summary; exit 2 if it did not reach every partition or any socket failed',
    )
    .option('--json', 'print one JSON object: the broadcast id and execution, or with --wait its final status');
  command.addOption(fleetOption());
  addTargetOptions(command).action(async (options: SendOptions) => {
    // Checked before the target is even resolved: a bad message starts nothing.
    const input = await readBroadcastInput(options);
    const id = options.id === undefined ? undefined : checkBroadcastId(options.id, '--id');
    if (options.fleet !== undefined) return sendToFleet(options.fleet, input, { ...options, id });
    await withTarget(options, async (target) =>
      reportAndWait(target, await broadcast(input.message, { target, id, channel: input.channel }), options),
    );
  });
}

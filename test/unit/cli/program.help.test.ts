import { createProgram } from '../../../cli/program';

describe('--help', () => {
  const program = createProgram();

  it('lists every command', () => {
    const help = program.helpInformation();

    for (const command of ['send', 'status', 'list', 'replay', 'sweep', 'demo', 'local'])
      expect(help).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it.each([
    [
      'send',
      [
        '--message <text>',
        '--message-json <json>',
        '--file <path>',
        '--id <id>',
        '--wait',
        '--json',
        '--stack <name>',
        '--state-machine-arn <arn>',
        '--endpoint <url>',
        '--local',
      ],
    ],
    ['status', ['<id>', '--watch', '--json', '--stack <name>']],
    ['list', ['--limit <n>', '--json', '--stack <name>']],
    ['replay', ['<id>', '--wait', '--json', '--stack <name>']],
    ['sweep', ['--wait', '--json', '--stack <name>']],
  ])('%s documents its arguments and the target flags', (name, flags) => {
    const help = program.commands.find((command) => command.name() === name)!.helpInformation();

    expect(help).toContain(`Usage: swarmcast ${name}`);
    for (const flag of flags) expect(help).toContain(flag);
  });

  it('gives --json one meaning on every command: print one JSON object (a flag that takes no value)', () => {
    for (const command of program.commands) {
      const json = command.options.find((option) => option.long === '--json');

      expect({ command: command.name(), takesValue: json && (json.required || json.optional) }).toEqual({
        command: command.name(),
        takesValue: false,
      });
      expect(json!.description).toMatch(/^print .*JSON object/);
    }
  });
});

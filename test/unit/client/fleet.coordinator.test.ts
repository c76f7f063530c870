/** The fleet file's coordinator fields: the cell's access role, the coordinator, and endpoints only on loopback. */
import { parseFleet } from '../../../client/fleet';

const cell = { name: 'a', url: 'wss://a.example.com/live', region: 'eu-west-1' };

test('reads the coordinator and each cell access role', () => {
  const fleet = parseFleet({
    coordinator: { stateMachineArn: 'arn:aws:states:eu-west-1:444455556666:stateMachine:SwarmcastCoordinator-fleet' },
    cells: [{ ...cell, account: '111122223333', roleArn: 'arn:aws:iam::111122223333:role/Swarmcast-cell-access' }],
  });
  expect(fleet.coordinator).toEqual({
    stateMachineArn: 'arn:aws:states:eu-west-1:444455556666:stateMachine:SwarmcastCoordinator-fleet',
  });
  expect(fleet.cells[0].roleArn).toBe('arn:aws:iam::111122223333:role/Swarmcast-cell-access');
});

test.each([
  [
    { cells: [{ ...cell, stepFunctionsEndpoint: 'https://states.eu-west-1.amazonaws.com' }] },
    'fleet: cells[0].stepFunctionsEndpoint must be a loopback http:// URL such as "http://127.0.0.1:7701" (the local stack only), got "https://states.eu-west-1.amazonaws.com"',
  ],
  [
    { cells: [{ ...cell, account: '111122223333', roleArn: 'arn:aws:iam::999999999999:role/x' }] },
    "fleet: cells[0].roleArn is in account 999999999999, but the cell's account is 111122223333",
  ],
  [
    { cells: [{ ...cell, roleArn: 'role/x' }] },
    'fleet: cells[0].roleArn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), got "role/x"',
  ],
  [
    { cells: [cell], coordinator: { stateMachineArn: 'x' } },
    'fleet: coordinator.stateMachineArn must be a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME), got "x"',
  ],
  [
    { cells: [cell], coordinator: { stateMachineArn: 'arn:aws:states:eu-west-1:444455556666:stateMachine:f', url: 1 } },
    'fleet: coordinator has an unknown field "url"; allowed: "stateMachineArn", "stepFunctionsEndpoint"',
  ],
])('refuses %j, saying what is allowed', (input, message) => {
  expect(() => parseFleet(input, 'fleet')).toThrow(message);
});

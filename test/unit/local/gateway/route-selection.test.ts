/** The local gateway's route selection on `$request.body.action`, as the stack's API selects. */
import { selectRoute } from '../../../../local/gateway/route-selection';

test('{"action":"ping"} takes the keep-alive route, with any other fields and whitespace', () => {
  expect(selectRoute('{"action":"ping"}')).toBe('ping');
  expect(selectRoute(' {"id": 3, "action": "ping"}')).toBe('ping');
});

test('everything else takes $default: other actions, text, JSON that is not an object, broken JSON', () => {
  for (const body of ['ping', '{"action":"pong"}', '{"action":["ping"]}', '["ping"]', 'null', '{"action":"ping"', '']) {
    expect(selectRoute(body)).toBe('$default');
  }
});

test('subscribe and unsubscribe take their own routes', () => {
  expect(selectRoute('{"action":"subscribe","channel":"a"}')).toBe('subscribe');
  expect(selectRoute('{"action":"unsubscribe","channel":"a"}')).toBe('unsubscribe');
  expect(selectRoute('{"action":"subscribed"}')).toBe('$default');
});

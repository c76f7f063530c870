/** Parsing of --quota and --connect-rate (local/gateway/throttles.ts). */
import { parseConnectRate, parseQuota, ThrottleSyntaxError } from '../../../../local/gateway/throttles';

describe('parseQuota', () => {
  it.each([
    ['10000/5000', { ratePerSecond: 10_000, burst: 5_000 }],
    ['2000/1000', { ratePerSecond: 2_000, burst: 1_000 }],
    ['200', { ratePerSecond: 200, burst: 100 }],
    ['1', { ratePerSecond: 1, burst: 1 }],
    ['off', 'off'],
  ])('reads %p', (text, expected) => {
    expect(parseQuota(text)).toEqual(expected);
  });

  it.each(['', 'fast', '0', '0/10', '10/0', '1.5', '10/5/3', '-1', '2000000', '100/', 'OFF ', ' 300 / 50 ', '0x10'])(
    'rejects %p in one line naming the option and the form',
    (text) => {
      expect(() => parseQuota(text)).toThrow(ThrottleSyntaxError);
      expect(() => parseQuota(text)).toThrow(
        `--quota must be RATE[/BURST] (whole numbers from 1 to 1,000,000, e.g. 10000/5000) or "off", got "${text}".`,
      );
    },
  );
});

describe('parseConnectRate', () => {
  it.each([
    ['500', { ratePerSecond: 500, burst: 500 }],
    ['off', 'off'],
  ])('reads %p', (text, expected) => {
    expect(parseConnectRate(text)).toEqual(expected);
  });

  it.each(['', '0', '500/100', 'x', '1e3', ' 7 ', '0x10'])('rejects %p', (text) => {
    expect(() => parseConnectRate(text)).toThrow(
      /^--connect-rate must be a whole number of connections per second from 1 to 1,000,000 \(AWS: 500\) or "off", got/,
    );
  });
});

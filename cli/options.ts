/** Option parsers the commands share: whole numbers within bounds, and the local gateway's throttles. */
import { InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_CONNECT_RATE,
  DEFAULT_QUOTA,
  formatThrottle,
  parseConnectRate,
  parseQuota,
  type Throttle,
  ThrottleSyntaxError,
} from '../local/gateway/throttles';

/** A commander argument parser for a whole number from 1 to `max` in plain decimal digits (not "0x10", " 7 " or "1e3"), naming the option when it is not. */
export function parsePositiveInteger(name: string, max: number) {
  return (value: string): number => {
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max.toLocaleString('en-US')}.`);
    return n;
  };
}

/** A commander argument parser for a throttle setting ("RATE[/BURST]", "N" or "off"), with the parser's one-line error. */
export function parseThrottleOption(name: string, parse: (text: string, name: string) => Throttle) {
  return (value: string): Throttle => {
    try {
      return parse(value, name);
    } catch (error) {
      if (error instanceof ThrottleSyntaxError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

/** The --quota and --connect-rate options of every command that starts the local stack. */
export function throttleOptions(): Option[] {
  return [
    new Option(
      '--quota <rate[/burst]>',
      'API Gateway\'s account throttle on @connections calls and handshakes, shared by all gateway workers (burst defaults to half the rate), or "off"',
    )
      .default(DEFAULT_QUOTA, formatThrottle(DEFAULT_QUOTA))
      .argParser(parseThrottleOption('--quota', parseQuota)),
    new Option(
      '--connect-rate <n>',
      'new WebSocket connections per second; over it the handshake answers 429 (or "off")',
    )
      .default(DEFAULT_CONNECT_RATE, String(DEFAULT_CONNECT_RATE.ratePerSecond))
      .argParser(parseThrottleOption('--connect-rate', parseConnectRate)),
  ];
}

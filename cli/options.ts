import { InvalidArgumentError } from 'commander';

/** A commander argument parser for a whole number from 1 to `max`, naming the option when it is not. */
export function parsePositiveInteger(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max.toLocaleString('en-US')}.`);
    return n;
  };
}


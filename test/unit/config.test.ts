import { defaultConfig, InvalidConfigError, resolveConfig } from '../../infra/config';

describe('resolveConfig', () => {
  it('defaults to 2,500 partitions and 10 shards', () => {
    const config = resolveConfig();
    expect(config.partitions).toBe(2_500);
    expect(config.shards).toBe(10);
    expect(config).toEqual(defaultConfig);
  });

  it('rejects an out-of-range number, naming the key and the allowed range', () => {
    expect(() => resolveConfig({ consumerMaxConcurrency: 1 })).toThrow(
      new InvalidConfigError('swarmcast setting consumerMaxConcurrency=1 must be an integer from 2 to 1000'),
    );
  });

  it('rejects a value that would become NaN', () => {
    expect(() => resolveConfig({ shards: 'ten' })).toThrow(/shards="ten" must be an integer/);
  });

  it('rejects an unknown key', () => {
    expect(() => resolveConfig({ shard: 3 } as never)).toThrow(/unknown swarmcast setting "shard"/);
  });
});

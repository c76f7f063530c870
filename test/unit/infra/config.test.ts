import { API_GATEWAY_LOW_QUOTA_REGIONS } from '#commons/aws-limits';
import { accountQuotaDefaultsFor, defaultConfig, InvalidConfigError, resolveConfig } from '../../../infra/config';

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

  it('derives posts in flight and consumer instances from the budget unless they are set', () => {
    expect(resolveConfig()).toMatchObject({
      deliveryRatePerSecond: 9_000,
      postConcurrency: 450,
      consumerMaxConcurrency: 5,
    });
    expect(resolveConfig({ deliveryRatePerSecond: 200 })).toMatchObject({
      postConcurrency: 10,
      consumerMaxConcurrency: 2,
    });
    expect(resolveConfig({ deliveryRatePerSecond: 100_000 })).toMatchObject({
      postConcurrency: 1_000,
      consumerMaxConcurrency: 50,
    });
    expect(resolveConfig({ deliveryRatePerSecond: 200, postConcurrency: 64, consumerMaxConcurrency: 7 })).toMatchObject(
      { postConcurrency: 64, consumerMaxConcurrency: 7 },
    );
  });

  it('derives the delivery budget (90 %) from the account quota unless set', () => {
    expect(resolveConfig({ accountQuotaRatePerSecond: 2_500, accountQuotaBurst: 1_250 })).toMatchObject({
      deliveryRatePerSecond: 2_250,
    });
    expect(resolveConfig({ accountQuotaRatePerSecond: 20_000 })).toMatchObject({
      deliveryRatePerSecond: 18_000,
    });
    expect(resolveConfig({ accountQuotaRatePerSecond: 2_500, deliveryRatePerSecond: 1_000 })).toMatchObject({
      deliveryRatePerSecond: 1_000,
    });
  });

  it("takes the account quota's default from the Region: 2,500/1,250 in AWS's 13 low-quota Regions, 10,000/5,000 elsewhere", () => {
    expect(API_GATEWAY_LOW_QUOTA_REGIONS).toHaveLength(13);
    for (const region of ['eu-south-1', 'ap-southeast-3', 'mx-central-1']) {
      expect(accountQuotaDefaultsFor(region)).toEqual({ accountQuotaRatePerSecond: 2_500, accountQuotaBurst: 1_250 });
    }
    expect(accountQuotaDefaultsFor('us-east-1')).toEqual({
      accountQuotaRatePerSecond: 10_000,
      accountQuotaBurst: 5_000,
    });
    expect(accountQuotaDefaultsFor(undefined)).toEqual({
      accountQuotaRatePerSecond: defaultConfig.accountQuotaRatePerSecond,
      accountQuotaBurst: defaultConfig.accountQuotaBurst,
    });
  });

  it('reads accessLogs as a boolean and says what is allowed otherwise', () => {
    expect(resolveConfig({ accessLogs: true }).accessLogs).toBe(true);
    expect(() => resolveConfig({ accessLogs: 'yes' })).toThrow(/accessLogs="yes" must be true or false/);
  });

  it('no longer takes a sweep share: the sweep makes no @connections call', () => {
    expect(() => resolveConfig({ sweepRatePerSecond: 1_000 } as never)).toThrow(
      /unknown swarmcast setting "sweepRatePerSecond"/,
    );
  });

  it('rejects an unknown key', () => {
    expect(() => resolveConfig({ shard: 3 } as never)).toThrow(/unknown swarmcast setting "shard"/);
  });
});

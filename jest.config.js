/** Tests split by kind: unit (mocked SDK clients), infra (CDK template), integration (the local stack). */
const transform = { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: { module: 'commonjs', moduleResolution: 'node' } }] };
const moduleNameMapper = { '^#commons/(.*)$': '<rootDir>/functions/commons/$1' };
const common = { preset: undefined, testEnvironment: 'node', transform, moduleNameMapper };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], testTimeout: 120_000, maxWorkers: 1 },
  ],
};

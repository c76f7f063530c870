/** Tests split by kind: unit (mocked SDK clients), infra (CDK template), integration (the local stack). */
// Transpile only (types are checked once, by `npm run typecheck`), to CommonJS for jest.
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'commonjs', moduleResolution: 'node', isolatedModules: true } }],
};
const moduleNameMapper = { '^#commons/(.*)$': '<rootDir>/functions/commons/$1' };
const common = { testEnvironment: 'node', transform, moduleNameMapper };

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/unit/setup-env.ts'],
    },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/integration/setup.ts'],
    },
  ],
};

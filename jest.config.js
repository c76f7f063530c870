/** Tests split by kind: unit (mocked SDK clients), infra (CDK template), integration (the local stack). */
// Transpile only (types are checked once, by `npm run typecheck`), to CommonJS for jest.
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'commonjs', moduleResolution: 'node', isolatedModules: true } }],
};
// `swarmcast` is the package's own name: its exports entry, lib/index.ts (the library API).
const moduleNameMapper = {
  '^#commons/(.*)$': '<rootDir>/functions/commons/$1',
  '^swarmcast$': '<rootDir>/lib/index.ts',
};
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

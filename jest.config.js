/**
 * One Jest config for the workspace. Test tiers by file name:
 *   *.spec.ts         unit tests, collaborators mocked, no servers
 *   *.medium-spec.ts  a service or repository against real Postgres / NATS / Redis
 *   *.e2e-spec.ts     services and simulated DCAs started together
 * Select a tier with `npm test -- --tier unit|medium|e2e`.
 */
const swc = ['@swc/jest', {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
}];

const common = {
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@nco/events$': '<rootDir>/libs/events/src/index.ts',
    '^@nco/cib$': '<rootDir>/libs/cib/src/index.ts',
    '^@nco/runtime$': '<rootDir>/libs/runtime/src/index.ts',
    '^@nco/delivery$': '<rootDir>/libs/delivery/src/index.ts',
    '^@nco/events/testing$': '<rootDir>/libs/events/src/testing/index.ts',
    '^@nco/cib/testing$': '<rootDir>/libs/cib/src/testing/index.ts',
  },
  testEnvironment: 'node',
  rootDir: __dirname,
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};

module.exports = {
  // Per-project testTimeout is not honoured by Jest; medium and e2e tests need real servers and kbuild.
  testTimeout: 120_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,bench}/**/*.spec.ts', '<rootDir>/test/deploy/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'medium',
      testMatch: ['<rootDir>/{apps,libs}/**/*.medium-spec.ts'],
      globalSetup: '<rootDir>/test/global-setup.js',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts', '<rootDir>/apps/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/global-setup.js',
    },
  ],
};

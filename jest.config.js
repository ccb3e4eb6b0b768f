/** One jest run: unit specs next to the code, integration/e2e/docker specs under test/. */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        tsconfig: '<rootDir>/tsconfig.spec.json',
        // tsc --noEmit type-checks in CI; here only the transform runs (with the program the Swagger plugin needs).
        diagnostics: false,
        astTransformers: {
          before: [{ path: '<rootDir>/test/support/swagger-transformer.js' }],
        },
      },
    ],
  },
  moduleNameMapper: { '^src/(.*)$': '<rootDir>/src/$1' },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 2,
};

/**
 * The fast tier (`npm run test:fast`): unit specs next to the code and test/fast (services on a real
 * migrated Postgres with FakeRuntime and InMemoryQueue). No Docker engine is needed. The same specs also
 * run in the full `jest` run (jest.config.js matches them).
 *
 * Files are transpiled one by one (isolatedModules, no type program): `tsc --noEmit` type-checks, and no
 * spec here reads the OpenAPI document that needs the Swagger plugin's program.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/fast/**/*.fast.spec.ts'],
  // As the entry points (src/main.ts, src/cli/main.ts) do: one-by-one transpiling keeps no import only
  // for its decorator metadata, so a spec may otherwise reach class-validator before the polyfill.
  setupFiles: ['reflect-metadata'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.fast.json', diagnostics: false }],
  },
};

/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment, with aws-cdk-lib's CloudFormation validation engine loaded
  // once per worker instead of once per test file and synthesis: see the file.
  testEnvironment: '<rootDir>/test/support/jest-environment.ts',
  moduleNameMapper: {
    '^@aws/cloudformation-validate$': '<rootDir>/test/support/cfn-validate-shared.ts',
  },
  // TypeScript sources win over the .js files jsii writes next to them.
  moduleFileExtensions: ['ts', 'js', 'json'],
  roots: ['<rootDir>/test', '<rootDir>/cli/test'],
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/cli/test/**/*.test.ts'],
  transform: {
    // Transpile only (swc, as tsconfig.dev.json's target and modules say: ES2022, CommonJS,
    // class fields defined): types are checked once by `tsc -p tsconfig.dev.json` in `npm test`.
    '^.+\\.ts$': ['@swc/jest', {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022', transform: { useDefineForClassFields: true } },
      module: { type: 'commonjs' },
      sourceMaps: 'inline',
    }],
  },
  // The unit files' apps leave out construct creation stack traces: see the file.
  setupFilesAfterEnv: ['<rootDir>/test/support/no-creation-stack-traces.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
  // Jest's default is one worker per core less one: a single worker on the
  // 2-core CI machine. Most of a unit file's time is loading aws-cdk-lib, which
  // two workers halve. `npm run test:e2e` and `npm run test:jest` (every file, what
  // `npm test` runs) take three: an e2e file spends much of its time waiting on
  // moto_server and Terraform.
  maxWorkers: 2,
};

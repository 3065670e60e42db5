/**
 * What test files get for `@aws/cloudformation-validate` (jest.config.js maps the name
 * here): the worker's shared copy, which jest-environment.ts explains.
 */
const shared = (globalThis as Record<symbol, unknown>)[Symbol.for('cdk-terraform-state-backend.cfn-validate')];
if (!shared) {
  throw new Error('cfn-validate-shared: no shared @aws/cloudformation-validate; run jest with the testEnvironment of jest.config.js (test/support/jest-environment.ts)');
}
module.exports = shared;

/**
 * jest setupFilesAfterEnv, for the unit test files (not test/e2e/): every CDK app a test
 * file makes leaves out construct creation stack traces.
 *
 * Why: aws-cdk-lib records a stack trace for every CloudFormation element and stack it
 * creates (`CfnElement`, `Stack`), unless the app's context has
 * `aws:cdk:disable-creation-stack-traces`. Under jest each trace goes through jest's
 * source-map wrapper; it was about a tenth of the unit files' CPU time.
 *
 * What it changes, and why it stays honest: only the `aws:cdk:creationStack` metadata of
 * the constructs, which is in no template and in no synthesis message; errors and
 * warnings keep their own traces. Apps read the switch from the environment
 * (`CDK_CONTEXT_JSON`, as the CDK CLI hands context to an app), so it reaches every app,
 * the inner apps that build the StackSet's and the published templates included. The
 * app's own context keys (no `:`) are untouched, and a test's own `CDK_CONTEXT_JSON`
 * keys are kept. Only this file's sandbox sees it: processes the tests start get the
 * worker's environment, as before.
 */
const DISABLE_CREATION_STACK_TRACES = 'aws:cdk:disable-creation-stack-traces';

if (!/[\\/]test[\\/]e2e[\\/]/.test(expect.getState().testPath ?? '')) {
  const given = process.env.CDK_CONTEXT_JSON ? JSON.parse(process.env.CDK_CONTEXT_JSON) as Record<string, unknown> : {};
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ [DISABLE_CREATION_STACK_TRACES]: true, ...given });
}

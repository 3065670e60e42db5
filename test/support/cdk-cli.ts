/**
 * Runs the project's own `cdk` CLI (node_modules/.bin/cdk) against an emulator:
 * `AWS_ENDPOINT_URL` points every AWS call at it, with throw-away credentials, and
 * nothing of the caller's AWS or CDK environment gets through.
 */
import * as fs from 'fs';
import * as path from 'path';
import { cleanEnv, ProcessResult, runProcess } from './processes';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The region the end-to-end tests deploy to. */
export const E2E_REGION = 'us-east-1';

/** The environment for the CLI (and the AWS SDK in the tests) to reach the emulator at `endpoint`. */
export function emulatorEnv(endpoint: string): NodeJS.ProcessEnv {
  return cleanEnv({
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'e2e',
    AWS_SECRET_ACCESS_KEY: 'e2e',
    AWS_REGION: E2E_REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  });
}

/**
 * The context the CLI gives an app it runs in this repository: cdk.json's `context`, then
 * the CLI's own defaults (path and asset metadata, version reporting, every stack bundled),
 * then `extra` (what `-c KEY=VALUE` would add). An `App` built with it in this process
 * synthesizes the templates `cdk synth` would; `cdk deploy --app <its outdir>` then
 * deploys that cloud assembly without a second synthesis (and without the CLI starting
 * ts-node, loading aws-cdk-lib and synthesizing again: about 6 s of CPU per deploy here).
 */
export function cliAppContext(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return {
    ...cdkJson.context,
    'aws:cdk:enable-path-metadata': true,
    'aws:cdk:enable-asset-metadata': true,
    'aws:cdk:version-reporting': true,
    'aws:cdk:bundling-stacks': ['**'],
    ...extra,
  };
}

/** `cdk --no-notices ARGS` in the repository (its cdk.json names the app), against the emulator. */
export function cdk(args: readonly string[], endpoint: string, timeoutMs = 120_000): Promise<ProcessResult> {
  return runProcess(path.join(REPO_ROOT, 'node_modules', '.bin', 'cdk'), ['--no-notices', ...args], {
    cwd: REPO_ROOT,
    env: emulatorEnv(endpoint),
    timeoutMs,
  });
}

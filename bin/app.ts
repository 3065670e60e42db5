import { App, Aspects } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LockingMode, StateEncryption, TerraformStateBackendStack } from '../lib';

/**
 * The context keys the bootstrap app reads (`cdk synth -c key=value`).
 */
export const CONTEXT_KEYS = [
  'stackName',
  'bucketName',
  'lockTableName',
  'stateKey',
  'workspaceKeyPrefix',
  'locking',
  'encryption',
] as const;

function context(app: App, key: string): string | undefined {
  const value = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

function enumContext<T extends string>(app: App, key: string, values: Record<string, T>): T | undefined {
  const value = context(app, key);
  if (value === undefined) {
    return undefined;
  }
  const allowed = Object.values(values);
  if (!allowed.includes(value as T)) {
    throw new Error(`context \`${key}\` must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/**
 * Adds the bootstrap stack to `app`, configured from its context, and applies
 * cdk-nag's AwsSolutions pack.
 */
export function buildBootstrapApp(app: App): TerraformStateBackendStack {
  const stack = new TerraformStateBackendStack(app, context(app, 'stackName') ?? 'TerraformStateBackend', {
    bucketName: context(app, 'bucketName'),
    lockTableName: context(app, 'lockTableName'),
    stateKey: context(app, 'stateKey'),
    workspaceKeyPrefix: context(app, 'workspaceKeyPrefix'),
    locking: enumContext(app, 'locking', LockingMode),
    encryption: enumContext(app, 'encryption', StateEncryption),
  });
  Aspects.of(app).add(new AwsSolutionsChecks());
  return stack;
}

/**
 * The cdk-nag findings (errors and warnings) in a synthesized assembly, one
 * line each.
 */
export function nagFindings(assembly: cxapi.CloudAssembly): string[] {
  return assembly.stacks.flatMap((stack) => stack.messages
    .filter((m) => /^AwsSolutions-/.test(String(m.entry.data)))
    .map((m) => `${m.level}: ${m.id}: ${String(m.entry.data).split('\n')[0]}`));
}

import { Stack } from 'aws-cdk-lib/core';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

/**
 * Internal: the SSM parameters a backend publishes under its discovery prefix,
 * so that pipelines can find it, and the names an import reads them by.
 */

/** What a backend publishes, in the order it publishes it. */
export interface DiscoveryValues {
  readonly bucket: string;
  readonly region: string;
  /** With a lock table. */
  readonly lockTable?: string;
  /** With a customer-managed key. */
  readonly kmsKeyArn?: string;
  readonly backendConfig: string;
}

/** The parameter names under a prefix, one for each published value. */
export const DISCOVERY_NAMES = {
  bucket: 'bucket',
  region: 'region',
  lockTable: 'lock-table',
  kmsKeyArn: 'kms-key-arn',
  backendConfig: 'backend-config',
} as const;

const DESCRIPTIONS: Record<keyof DiscoveryValues, string> = {
  bucket: 'The S3 bucket that holds Terraform state',
  region: 'The region of the Terraform state backend',
  lockTable: 'The DynamoDB table that holds Terraform state locks',
  kmsKeyArn: 'The KMS key that encrypts Terraform state',
  backendConfig: 'Partial backend configuration for terraform init -backend-config=FILE',
};

/**
 * The full names of the parameters a backend with (or without) a lock table
 * and a customer key publishes under `prefix`.
 */
export function discoveryParameterNames(prefix: string, hasLockTable: boolean, hasKey: boolean): string[] {
  return (Object.keys(DISCOVERY_NAMES) as Array<keyof DiscoveryValues>)
    .filter((k) => (k !== 'lockTable' || hasLockTable) && (k !== 'kmsKeyArn' || hasKey))
    .map((k) => `${prefix}${DISCOVERY_NAMES[k]}`);
}

/**
 * Publishes `values` as standard String parameters under `prefix`, with the
 * construct IDs `Discovery<Name>` (`DiscoveryBucket`, `DiscoveryLockTable`, ...).
 */
export function publishDiscovery(scope: Construct, prefix: string, values: DiscoveryValues): ssm.StringParameter[] {
  const parameters: ssm.StringParameter[] = [];
  for (const k of Object.keys(DISCOVERY_NAMES) as Array<keyof DiscoveryValues>) {
    const value = values[k];
    if (value === undefined) {
      continue;
    }
    const name = DISCOVERY_NAMES[k];
    parameters.push(new ssm.StringParameter(scope, `Discovery${name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`, {
      parameterName: `${prefix}${name}`,
      // A prefix starts with "/" (validated), so the name is never a simple
      // one; said here because a prefix that is a token cannot show it.
      simpleName: false,
      stringValue: value,
      description: DESCRIPTIONS[k],
      tier: ssm.ParameterTier.STANDARD,
    }));
  }
  return parameters;
}

/**
 * A deploy-time reference to the parameter `name` under `prefix` (a
 * `AWS::SSM::Parameter::Value<String>` parameter of the stack of `scope`): it
 * resolves when CloudFormation deploys that stack, in its account and region.
 */
export function discoveredValue(scope: Construct, prefix: string, name: keyof DiscoveryValues): string {
  return ssm.StringParameter.valueForStringParameter(Stack.of(scope), `${prefix}${DISCOVERY_NAMES[name]}`);
}

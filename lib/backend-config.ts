import { Token } from 'aws-cdk-lib/core';

/**
 * The settings of a Terraform `s3` backend, as data.
 *
 * Values may be unresolved CDK tokens (for example the bucket name of an
 * environment-agnostic stack); they resolve when used in a stack output.
 */
export interface BackendConfig {
  /**
   * `bucket`: the S3 bucket that holds state.
   */
  readonly bucket: string;

  /**
   * `key`: the object key of the default workspace's state.
   */
  readonly key: string;

  /**
   * `region`: the region of the bucket (and of the lock table).
   */
  readonly region: string;

  /**
   * `dynamodb_table`: the DynamoDB table used for locking.
   *
   * @default - no DynamoDB locking
   */
  readonly dynamodbTable?: string;

  /**
   * `use_lockfile`: S3-native locking with a `<key>.tflock` object
   * (Terraform 1.10+, OpenTofu 1.10+).
   *
   * @default - no lock file
   */
  readonly useLockfile?: boolean;

  /**
   * `encrypt`: ask S3 to encrypt the state object at rest.
   */
  readonly encrypt: boolean;

  /**
   * `kms_key_id`: the KMS key Terraform asks S3 to encrypt state and lock files
   * with (SSE-KMS).
   *
   * With `StateEncryption.KMS`, the customer-managed key's ARN; with
   * `StateEncryption.KMS_MANAGED`, `alias/aws/s3` (the AWS managed key: without
   * `kms_key_id`, Terraform sends `x-amz-server-side-encryption: AES256` with
   * `encrypt = true`, which overrides the bucket's KMS default encryption).
   *
   * @default - not set: Terraform asks for SSE-S3 (`AES256`), which is what the
   * bucket's default encryption is with `StateEncryption.S3_MANAGED`
   */
  readonly kmsKeyId?: string;

  /**
   * `workspace_key_prefix`: the prefix of non-default workspaces' state.
   *
   * @default - Terraform's default, `env:`
   */
  readonly workspaceKeyPrefix?: string;
}

/**
 * Options for rendering the backend settings of one Terraform configuration.
 */
export interface BackendConfigOptions {
  /**
   * The state key of this Terraform configuration. One backend can hold the
   * state of many configurations, each under its own key.
   *
   * @default - the construct's `stateKey`
   */
  readonly stateKey?: string;

  /**
   * The workspace key prefix of this Terraform configuration.
   *
   * @default - the construct's `workspaceKeyPrefix`
   */
  readonly workspaceKeyPrefix?: string;
}

type HclValue = string | boolean;

/** The attributes in the order they are emitted, with their HCL names. */
const ATTRIBUTES: ReadonlyArray<[keyof BackendConfig, string]> = [
  ['bucket', 'bucket'],
  ['key', 'key'],
  ['region', 'region'],
  ['dynamodbTable', 'dynamodb_table'],
  ['useLockfile', 'use_lockfile'],
  ['encrypt', 'encrypt'],
  ['kmsKeyId', 'kms_key_id'],
  ['workspaceKeyPrefix', 'workspace_key_prefix'],
];

/**
 * Renders an HCL literal. Strings are quoted and escaped as HCL requires
 * (backslash, quote, control characters, and the `${` and `%{` template
 * introducers); an unresolved token is left as it is, because escaping the
 * token's placeholder would break it (and the values that can be tokens here,
 * names and regions, cannot contain characters that need escaping).
 */
export function hclLiteral(value: HclValue): string {
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  if (Token.isUnresolved(value)) {
    return `"${value}"`;
  }
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/\$\{/g, '$$$${')
    .replace(/%\{/g, '%%{');
  return `"${escaped}"`;
}

/**
 * The attribute lines of the settings, with `=` aligned as `terraform fmt`
 * aligns consecutive attributes.
 */
function attributeLines(config: BackendConfig): string[] {
  const pairs: Array<[string, string]> = [];
  for (const [prop, name] of ATTRIBUTES) {
    const value = config[prop];
    if (value !== undefined) {
      pairs.push([name, hclLiteral(value)]);
    }
  }
  const width = Math.max(...pairs.map(([name]) => name.length));
  return pairs.map(([name, value]) => `${name.padEnd(width)} = ${value}`);
}

/**
 * The whole `terraform { backend "s3" { ... } }` block, as `terraform fmt`
 * prints it, with a trailing newline.
 */
export function renderBackendBlock(config: BackendConfig): string {
  const body = attributeLines(config).map((line) => `    ${line}`);
  return ['terraform {', '  backend "s3" {', ...body, '  }', '}', ''].join('\n');
}

/**
 * The partial configuration file for `terraform init -backend-config=FILE`:
 * the attributes alone, without the `terraform` and `backend` blocks.
 */
export function renderBackendConfigFile(config: BackendConfig): string {
  return [...attributeLines(config), ''].join('\n');
}

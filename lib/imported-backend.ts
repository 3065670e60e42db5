import { Stack } from 'aws-cdk-lib/core';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { tableArn } from './private/arns';
import { BackendFacts, factsOf } from './private/backend-facts';
import { DEFAULT_DISCOVERY_PREFIX, DEFAULT_LOCK_TABLE_NAME, DEFAULT_STATE_KEY } from './private/defaults';
import { discoveredValue } from './private/discovery';
import type { BackendAttributesShape, DiscoveryOptionsShape } from './private/shapes';
import { discoveryImportFaults, importFaults, reportFaults } from './private/validate';
import { StateGrants } from './state-grants';
import { LockingMode, StateEncryption } from './state-settings';
import { ITerraformStateBackend, TerraformStateBackendBase } from './terraform-state-backend-base';

/**
 * Internal: a backend this app did not make, known by its names. Its bucket,
 * table and key are imported (`fromBucketAttributes`, `fromTableArn`), so that
 * a grant to a principal of another account knows the backend's account; their
 * resource policies are not this app's, and stay as they are.
 *
 * Bad attributes are reported as the constructor reports bad props: one error
 * annotation on the import, listing every fault; nothing is imported, and its
 * grants and rendering throw the same message.
 *
 * Not exported from the package. It lives beside the constructs it is made
 * of, not in lib/private/, which imports no construct file.
 */
class ImportedTerraformStateBackend extends TerraformStateBackendBase {
  public readonly bucketName: string;
  public readonly account: string;
  public readonly region: string;
  public readonly locking: LockingMode;
  public readonly encryption: StateEncryption;
  public readonly lockTableName?: string;
  public readonly encryptionKey?: kms.IKey;
  public readonly stateKey: string;
  public readonly workspaceKeyPrefix?: string;
  public readonly grants: StateGrants;
  /** @internal */
  protected readonly _facts?: BackendFacts;

  /**
   * @param encryptionKeyArn the key's ARN, when `attrs` has no key (from discovery)
   * @param optionFaults faults of the options `attrs` were made from (from
   * discovery); when there are any, `attrs` are placeholders and are not judged
   */
  constructor(scope: Construct, id: string, attrs: BackendAttributesShape, encryptionKeyArn?: string, optionFaults: string[] = []) {
    super(scope, id);
    const stack = Stack.of(this);
    this.bucketName = attrs.bucketName;
    this.account = attrs.account ?? stack.account;
    this.region = attrs.region ?? stack.region;
    this.locking = attrs.locking ?? LockingMode.DYNAMODB;
    this.encryption = attrs.encryption ?? (attrs.encryptionKey ? StateEncryption.KMS : StateEncryption.S3_MANAGED);
    this.lockTableName = this.locking === LockingMode.S3_LOCKFILE ? undefined : attrs.lockTableName ?? DEFAULT_LOCK_TABLE_NAME;
    this.stateKey = attrs.stateKey ?? DEFAULT_STATE_KEY;
    this.workspaceKeyPrefix = attrs.workspaceKeyPrefix;
    const rejected = reportFaults(this, optionFaults.length > 0 ? optionFaults
      : importFaults(attrs, this.locking, this.encryption, attrs.encryptionKey !== undefined || encryptionKeyArn !== undefined));
    if (rejected !== undefined) {
      this.grants = StateGrants._rejecting(rejected);
      return;
    }
    this.encryptionKey = encryptionKeyArn !== undefined ? kms.Key.fromKeyArn(this, 'Key', encryptionKeyArn) : attrs.encryptionKey;

    const place = { account: this.account, region: this.region };
    const bucket = s3.Bucket.fromBucketAttributes(this, 'Bucket', { bucketName: this.bucketName, ...place });
    const lockTable = this.lockTableName === undefined ? undefined
      // An import is a TableBase, whose addToResourcePolicy() a cross-account grant calls (and which adds nothing).
      : dynamodb.Table.fromTableArn(this, 'LockTable', tableArn(stack, this.lockTableName, place)) as dynamodb.TableBase;
    this._facts = factsOf(this, { bucket, lockTable, discoveryPrefix: attrs.discoveryPrefix });
    this.grants = StateGrants._of(this._facts);
  }
}

/** `TerraformStateBackend.fromBackendAttributes()`. */
export function importBackend(scope: Construct, id: string, attrs: BackendAttributesShape): ITerraformStateBackend {
  return new ImportedTerraformStateBackend(scope, id, attrs);
}

/**
 * `TerraformStateBackend.fromDiscovery()`: the names from the discovery
 * parameters (deploy-time references), the rest from `options`.
 */
export function importBackendFromDiscovery(scope: Construct, id: string, options: DiscoveryOptionsShape): ITerraformStateBackend {
  const prefix = options.prefix ?? DEFAULT_DISCOVERY_PREFIX;
  const locking = options.locking ?? LockingMode.DYNAMODB;
  const encryption = options.encryption ?? StateEncryption.S3_MANAGED;
  const faults = discoveryImportFaults(options);
  // With bad options, no parameter is read: the import reports the faults and imports nothing.
  const discovered = (name: Parameters<typeof discoveredValue>[2]) => (faults.length > 0 ? '' : discoveredValue(scope, prefix, name));
  const stack = Stack.of(scope);
  return new ImportedTerraformStateBackend(scope, id, {
    bucketName: discovered('bucket'),
    // The parameters are read in the importing stack's account and region,
    // so that is where the backend is (and `region` there names it, too).
    account: stack.account,
    region: stack.region,
    locking,
    lockTableName: locking === LockingMode.S3_LOCKFILE ? undefined : discovered('lockTable'),
    encryption,
    stateKey: options.stateKey,
    workspaceKeyPrefix: options.workspaceKeyPrefix,
    discoveryPrefix: prefix,
  }, encryption === StateEncryption.KMS ? discovered('kmsKeyArn') : undefined, faults);
}

import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';
import { BackendConfig, BackendConfigOptions } from '../backend-config';
import { LockingMode, StateEncryption } from '../state-settings';
import { discoveryParameterNames } from './discovery';
import { stateKeyFaults, throwIfFaults, workspaceKeyPrefixFaults } from './validate';

/**
 * Internal: what the grants and the rendered configuration need to know of a
 * backend, whether this app made it or imported it. Names only: nothing here
 * may be an attribute of another stack's resource.
 */
export interface BackendFacts {
  /** The backend construct: error messages name its path; ARNs are formatted in its stack. */
  readonly scope: IConstruct;
  /** The account the backend lives in (may be a token). */
  readonly account: string;
  /** The region the backend lives in (may be a token). */
  readonly region: string;
  readonly bucketName: string;
  /** The bucket, made here or imported: where cross-account grants add to the resource policy. */
  readonly bucket: s3.IBucket;
  readonly stateKey: string;
  readonly workspaceKeyPrefix?: string;
  readonly locking: LockingMode;
  readonly lockTableName?: string;
  /** The table, made here or imported: where cross-account grants add to the resource policy. */
  readonly lockTable?: dynamodb.ITable & iam.IResourceWithPolicyV2;
  readonly encryption: StateEncryption;
  readonly encryptionKey?: kms.IKey;
  /** The alias of a key this construct made; grants into other stacks name the key by it. */
  readonly keyAlias?: string;
  /** The discovery parameters' names; empty without discovery. */
  readonly discoveryParameterNames: string[];
}

/**
 * The backend settings of `facts` as data, for one configuration's state key
 * and workspace key prefix.
 */
export function backendConfigOf(facts: BackendFacts, options: BackendConfigOptions): BackendConfig {
  const key = options.stateKey ?? facts.stateKey;
  const workspaceKeyPrefix = options.workspaceKeyPrefix ?? facts.workspaceKeyPrefix;
  throwIfFaults(`${facts.scope.node.path} backendConfig()`, [
    ...stateKeyFaults('stateKey', key),
    ...(workspaceKeyPrefix === undefined ? [] : workspaceKeyPrefixFaults('workspaceKeyPrefix', workspaceKeyPrefix)),
  ]);
  return {
    bucket: facts.bucketName,
    key,
    region: facts.region,
    dynamodbTable: facts.lockTableName,
    useLockfile: facts.locking === LockingMode.DYNAMODB ? undefined : true,
    encrypt: true,
    kmsKeyId: kmsKeyIdForTerraform(facts),
    workspaceKeyPrefix,
  };
}

/**
 * Terraform sends `x-amz-server-side-encryption: AES256` with `encrypt = true`
 * unless `kms_key_id` is set, and an explicit header beats the bucket's default
 * encryption: without `kms_key_id`, state would be SSE-S3 even in a KMS bucket.
 */
function kmsKeyIdForTerraform(facts: BackendFacts): string | undefined {
  switch (facts.encryption) {
    case StateEncryption.KMS:
      return facts.encryptionKey!.keyArn;
    case StateEncryption.KMS_MANAGED:
      return 'alias/aws/s3';
    default:
      return undefined;
  }
}

/** What the facts hold beyond a backend's public names and settings. */
export interface BackendResources {
  readonly bucket: s3.IBucket;
  readonly lockTable?: dynamodb.ITable & iam.IResourceWithPolicyV2;
  readonly keyAlias?: string;
  /** Undefined without discovery parameters. */
  readonly discoveryPrefix?: string;
}

/**
 * A backend's public names and settings (`ITerraformStateBackend`'s), as the
 * facts name them.
 */
export type BackendNames = IConstruct & Pick<BackendFacts, 'account' | 'region' | 'bucketName' | 'stateKey' | 'workspaceKeyPrefix'
  | 'locking' | 'lockTableName' | 'encryption' | 'encryptionKey'>;

/** The facts of `backend`, from its public names and settings and its resources. */
export function factsOf(backend: BackendNames, resources: BackendResources): BackendFacts {
  return {
    scope: backend,
    account: backend.account,
    region: backend.region,
    bucketName: backend.bucketName,
    bucket: resources.bucket,
    stateKey: backend.stateKey,
    workspaceKeyPrefix: backend.workspaceKeyPrefix,
    locking: backend.locking,
    lockTableName: backend.lockTableName,
    lockTable: resources.lockTable,
    encryption: backend.encryption,
    encryptionKey: backend.encryptionKey,
    keyAlias: resources.keyAlias,
    discoveryParameterNames: resources.discoveryPrefix === undefined ? []
      : discoveryParameterNames(resources.discoveryPrefix, resources.lockTable !== undefined, backend.encryptionKey !== undefined),
  };
}

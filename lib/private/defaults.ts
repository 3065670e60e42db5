import { RemovalPolicy, Token } from 'aws-cdk-lib/core';
import { LockingMode, StateEncryption } from '../state-settings';
import { DISCOVERY_NAMES } from './discovery';
import type { ClaimedName } from './physical-names';
import type { BackendPropsShape } from './shapes';

/**
 * Internal: every default of the constructs, in one place. The props' JSDoc
 * `@default` tags say the same; the StackSet turns some into parameter defaults.
 */

/** The lock table's name. */
export const DEFAULT_LOCK_TABLE_NAME = 'terraform-lock';

/** The state key of the emitted block. */
export const DEFAULT_STATE_KEY = 'terraform.tfstate';

/** The prefix of the discovery parameters. */
export const DEFAULT_DISCOVERY_PREFIX = '/terraform/backend/';

/** The key prefix of the state bucket's access logs in the log bucket. */
export const DEFAULT_ACCESS_LOGS_PREFIX = 'state-bucket-access-logs/';

/** The key prefix of the replica bucket's access logs in its log bucket. */
export const REPLICA_ACCESS_LOGS_PREFIX = 'replica-bucket-access-logs/';

/** What happens to state (and what protects it) when the stack lets go of it. */
export const DEFAULT_REMOVAL_POLICY = RemovalPolicy.RETAIN;

/** Days after which an old version of state expires, unless it is one of the newest. */
export const DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS = 90;

/** Old versions of each state object that never expire. */
export const DEFAULT_NONCURRENT_VERSIONS_TO_RETAIN = 10;

/** Days access logs are kept. */
export const DEFAULT_ACCESS_LOG_RETENTION_DAYS = 365;

/** Days after which an incomplete multipart upload is aborted. */
export const INCOMPLETE_UPLOAD_DAYS = 7;

/** Terraform's own `workspace_key_prefix` when none is set. */
export const TERRAFORM_WORKSPACE_KEY_PREFIX = 'env:';

/** The state bucket's default name, from the stack's account and region. */
export function defaultBucketName(account: string, region: string): string {
  return `terraform-state-${account}-${region}`;
}

/** What a backend's props resolve to, the defaults applied. */
export interface BackendSettings {
  readonly locking: LockingMode;
  readonly encryption: StateEncryption;
  readonly bucketName: string;
  readonly stateKey: string;
  readonly workspaceKeyPrefix?: string;
  /** Undefined with `LockingMode.S3_LOCKFILE`, which makes no table. */
  readonly lockTableName?: string;
  readonly removalPolicy: RemovalPolicy;
  readonly accessLogs: boolean;
  readonly accessLogsPrefix: string;
  /** Undefined without discovery. */
  readonly discoveryPrefix?: string;
  readonly protectStateHistory: boolean;
  readonly stateHistoryAdmins: string[];
}

/**
 * Applies the defaults to a backend's props.
 *
 * @param account the account of the backend's stack (may be a token)
 * @param region the region of the backend's stack (may be a token)
 */
export function resolveBackendSettings(props: BackendPropsShape, account: string, region: string): BackendSettings {
  const locking = props.locking ?? LockingMode.DYNAMODB;
  return {
    locking,
    encryption: props.encryption ?? (props.encryptionKey ? StateEncryption.KMS : StateEncryption.S3_MANAGED),
    bucketName: props.bucketName ?? defaultBucketName(account, region),
    stateKey: props.stateKey ?? DEFAULT_STATE_KEY,
    workspaceKeyPrefix: props.workspaceKeyPrefix,
    lockTableName: locking === LockingMode.S3_LOCKFILE ? undefined : props.lockTableName ?? DEFAULT_LOCK_TABLE_NAME,
    removalPolicy: props.removalPolicy ?? DEFAULT_REMOVAL_POLICY,
    accessLogs: props.serverAccessLogs ?? true,
    accessLogsPrefix: props.serverAccessLogsPrefix ?? DEFAULT_ACCESS_LOGS_PREFIX,
    discoveryPrefix: (props.discovery ?? true) ? props.discoveryPrefix ?? DEFAULT_DISCOVERY_PREFIX : undefined,
    protectStateHistory: props.protectStateHistory ?? true,
    stateHistoryAdmins: props.stateHistoryAdmins ?? [],
  };
}

/** The alias of a key the backend makes for the bucket `bucketName`. */
export function stateKeyAlias(bucketName: string): string {
  return `alias/${Token.isUnresolved(bucketName) ? bucketName : bucketName.replace(/\./g, '-')}`;
}

/** The kinds of bucket name a replica and the backends replicating into it claim, which may be the same name. */
export const REPLICA_BUCKET = 'replica bucket';
export const REPLICATION_DESTINATION = 'replication destination';

/**
 * The fixed physical names a backend with `settings` has: the bucket, the
 * lock table, the key's alias (when it makes a key) and the discovery
 * parameters; and, with replication, the bucket it replicates into (which only
 * the replica of that name may share).
 */
export function backendNames(settings: BackendSettings, makesKey: boolean, replicationDestination?: string): ClaimedName[] {
  const names: ClaimedName[] = [{
    what: 'state bucket', prop: 'bucketName', name: settings.bucketName, global: true, scope: 'bucket names are global',
  }];
  if (replicationDestination !== undefined) {
    names.push({
      what: REPLICATION_DESTINATION, prop: 'replication.bucketName', name: replicationDestination, global: true, sharedWith: [REPLICA_BUCKET],
      scope: 'two backends replicating into one bucket mix their state there (the same keys overwrite each other, ' +
        'and its version lifecycle counts the versions of both), and a bucket that holds state must not receive replicas',
    });
  }
  if (settings.lockTableName !== undefined) {
    names.push({ what: 'lock table', prop: 'lockTableName', name: settings.lockTableName, scope: 'table names are unique per account and region' });
  }
  if (makesKey && settings.encryption === StateEncryption.KMS) {
    names.push({ what: 'KMS alias', prop: 'bucketName', name: stateKeyAlias(settings.bucketName), scope: 'aliases are unique per account and region' });
  }
  if (settings.discoveryPrefix !== undefined) {
    // One claim for the prefix's parameters: they all move with it.
    names.push({
      what: 'discovery parameters', prop: 'discoveryPrefix', name: `${settings.discoveryPrefix}${DISCOVERY_NAMES.bucket}`,
      scope: 'SSM parameter names are unique per account and region',
    });
  }
  return names;
}

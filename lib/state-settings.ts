import { Duration, RemovalPolicy } from 'aws-cdk-lib/core';

/**
 * How Terraform locks state.
 */
export enum LockingMode {
  /**
   * A DynamoDB table (`dynamodb_table`), the classic lock that every Terraform
   * and OpenTofu version supports. Terraform's documentation deprecates
   * `dynamodb_table` since 1.11 (the 1.11.4 binary warns about it only when it
   * applies a saved plan); OpenTofu does not.
   */
  DYNAMODB = 'DYNAMODB',

  /**
   * S3-native locking (`use_lockfile = true`): a `<state path>.tflock` object
   * written with a conditional put. Needs Terraform 1.10+ or OpenTofu 1.10+.
   * No table is made.
   */
  S3_LOCKFILE = 'S3_LOCKFILE',

  /**
   * Both locks at once (`dynamodb_table` and `use_lockfile = true`), for
   * migrating from DynamoDB locking to the lock file: Terraform takes and
   * releases both, so runs of old and new versions still exclude each other.
   */
  DYNAMODB_AND_S3_LOCKFILE = 'DYNAMODB_AND_S3_LOCKFILE',
}

/**
 * How state (and the lock table) is encrypted at rest.
 */
export enum StateEncryption {
  /**
   * S3-managed keys (SSE-S3) for state; the lock table uses DynamoDB's AWS
   * owned key.
   */
  S3_MANAGED = 'S3_MANAGED',

  /**
   * The AWS managed KMS key `aws/s3` (SSE-KMS) for state, with S3 Bucket Keys;
   * the lock table uses DynamoDB's AWS owned key. Key policy and rotation are
   * AWS's; use `KMS` to control who may decrypt state. The `aws/s3` key cannot
   * be used from another account.
   */
  KMS_MANAGED = 'KMS_MANAGED',

  /**
   * A customer-managed KMS key for state (with S3 Bucket Keys) and for the lock
   * table: `encryptionKey`, or a new key with rotation on.
   */
  KMS = 'KMS',
}

/**
 * How replicas are encrypted at rest. There is no AWS managed KMS key choice:
 * the `aws/s3` key's policy cannot be opened to the replication role.
 */
export enum ReplicaEncryption {
  /**
   * A new customer-managed key (rotation on, alias `alias/<replica bucket
   * name>`) that the replication roles may encrypt with; serves a backend of
   * either kind.
   */
  KMS = 'KMS',

  /**
   * S3-managed keys (SSE-S3); serves only a backend with
   * `StateEncryption.S3_MANAGED`.
   */
  S3_MANAGED = 'S3_MANAGED',
}

/**
 * An S3 object tag: the one OpenTofu's `lock_tags` puts on every lock file.
 */
export interface LockFileTag {
  /**
   * The tag's key: 1 to 128 characters, not starting with `aws:`.
   */
  readonly key: string;

  /**
   * The tag's value: up to 256 characters.
   */
  readonly value: string;
}

/**
 * How a state bucket (a backend's, or its replica's) keeps state safe: what
 * the backend and the replica share.
 */
export interface DataProtectionOptions {
  /**
   * What happens to the buckets, the lock table and a key made by the
   * construct when they are removed from the stack or the stack is deleted.
   * What protects and finds them follows the same policy: the bucket
   * policies, the key's alias and, for a backend, the discovery parameters
   * and the replication role and its policy.
   *
   * With `RemovalPolicy.DESTROY`, CloudFormation still cannot delete a bucket
   * that holds objects or object versions (no auto-delete Lambda is added):
   * empty the buckets, all versions included, first. A lock table's deletion
   * protection is turned off so that it can be deleted.
   *
   * `RemovalPolicy.SNAPSHOT` is not allowed: S3 buckets cannot be snapshotted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * How long an old (noncurrent) version of state is kept before it expires.
   * The newest `noncurrentVersionsToRetain` old versions never expire.
   *
   * @default Duration.days(90)
   */
  readonly noncurrentVersionExpiration?: Duration;

  /**
   * How many old (noncurrent) versions of each state object are always kept,
   * whatever their age: 1 to 100.
   *
   * Lock files (`<state path>.tflock`) are objects of the bucket too: every
   * locked run leaves one version and one delete marker of its lock file. S3
   * removes an expired object delete marker only when no noncurrent version of
   * the object remains, so this rule keeps the newest versions of each lock
   * file, and its delete marker, for good, and every other version and marker
   * of the last `noncurrentVersionExpiration`. Lifecycle filters cannot select
   * the `.tflock` suffix; see `lockFileTag` for OpenTofu.
   *
   * @default 10
   */
  readonly noncurrentVersionsToRetain?: number;

  /**
   * The tag that OpenTofu's `lock_tags` (OpenTofu 1.11+) puts on every lock
   * file: a second lifecycle rule, filtered by this tag, expires every
   * noncurrent version that carries it one day after it became noncurrent (the
   * shorter of two overlapping expirations applies), so lock-file versions no
   * longer pile up. Add the same tag to the backend block yourself,
   * `lock_tags = { <key> = "<value>" }`, and grant `s3:PutObjectTagging` on the
   * lock files. Terraform has no `lock_tags`; for it, `tfstate-ops prune-locks`
   * (planned) removes old lock-file versions.
   *
   * Never put this tag on state: in OpenTofu's `state_tags`, or by any other
   * means, it would expire every old version of that state after a day. The
   * rule cannot remove the lock files' delete markers (S3 tags no delete
   * marker, and a rule with a tag filter cannot use `ExpiredObjectDeleteMarker`):
   * those stay as `noncurrentVersionsToRetain` says.
   *
   * @default - no rule for lock files
   */
  readonly lockFileTag?: LockFileTag;

  /**
   * How long access logs are kept in the dedicated log bucket (for a backend,
   * ignored with `serverAccessLogsBucket`).
   *
   * @default Duration.days(365)
   */
  readonly serverAccessLogsRetention?: Duration;

  /**
   * Deny `s3:DeleteObjectVersion` on the bucket's objects to every principal
   * except `stateHistoryAdmins`, so that no one (a compromised pipeline role
   * included) can erase old versions of state. Terraform never deletes object
   * versions, and lifecycle expiry is not affected. Lock files (keys ending
   * `.tflock`) are not protected: their old versions are not state, and
   * `tfstate-ops prune-locks` deletes them.
   *
   * @default true
   */
  readonly protectStateHistory?: boolean;

  /**
   * ARNs of the principals (roles, users) that may still delete object versions
   * when `protectStateHistory` is on, matched with `aws:PrincipalArn`
   * (wildcards allowed, e.g. for SSO role names).
   *
   * @default - none: no principal may delete object versions (but of lock files)
   */
  readonly stateHistoryAdmins?: string[];

  /**
   * The ID of the AWS Organization (`o-...`) whose principals alone may use the
   * state: the policies of the buckets and of a key the construct makes (not
   * of a given `encryptionKey` or `serverAccessLogsBucket`) deny principals
   * outside it (`aws:PrincipalOrgID`).
   *
   * On the buckets, every request on objects and their versions (read, write,
   * tag, restore, delete, replicate) and every listing of the bucket
   * (`s3:ListBucket`, `s3:ListBucketVersions`, ...) is denied outside the
   * organization, and so is any S3 action not named below. The administration
   * of the bucket's own configuration (`s3:GetBucket*`, `s3:PutBucket*`,
   * `s3:DeleteBucketPolicy`, `s3:DeleteBucketWebsite`, `s3:Get*Configuration`,
   * `s3:Put*Configuration`, `s3:Delete*Configuration`: its policy, versioning,
   * encryption, lifecycle,
   * logging, replication, tags, ...) is denied only to principals outside both
   * the organization and the bucket's account, so that with a wrong ID, or
   * after the account moves to another organization, the account's own
   * principals (CloudFormation's role among them) can still update and roll
   * back the stack and lift the boundary.
   *
   * On the key, its use is denied (`kms:Encrypt`, `kms:Decrypt`,
   * `kms:ReEncrypt*`, `kms:GenerateDataKey*`, `kms:CreateGrant`), never its
   * administration, so that after a move to another organization the account
   * can still manage the key. AWS service principals (S3 log delivery,
   * replication through S3) are not affected.
   *
   * An unresolved value must be one a CloudFormation condition can read (a
   * parameter, as in the published templates): the deny statements are then
   * under a condition, and an empty string means no boundary.
   *
   * @default - no organization boundary
   */
  readonly organizationId?: string;
}

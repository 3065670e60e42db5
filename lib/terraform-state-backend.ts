import { Annotations, IResource, RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { importBackend, importBackendFromDiscovery } from './imported-backend';
import { deliverAccessLogs, makeAccessLogBucket } from './private/access-logs';
import { BackendFacts, factsOf } from './private/backend-facts';
import { assertAwsCdkLibVersion } from './private/cdk-version';
import { backendNames, resolveBackendSettings } from './private/defaults';
import { publishDiscovery } from './private/discovery';
import { applyOrganizationBoundary, protectHistory } from './private/history-and-boundary';
import { makeLockTable } from './private/lock-table';
import { claimPhysicalNames } from './private/physical-names';
import { addBackendOutputs } from './private/outputs';
import { replicateState, replicationDestination } from './private/replication';
import { makeStateBucket, makeStateKey } from './private/state-bucket';
import { backendFaults, reportFaults } from './private/validate';
import { StateGrantOptions, StateGrants } from './state-grants';
import { DataProtectionOptions, LockingMode, StateEncryption } from './state-settings';
import { ITerraformStateBackend, TerraformStateBackendBase } from './terraform-state-backend-base';

/**
 * Cross-region replication of every state object version.
 *
 * The replica bucket (and, for `StateEncryption.KMS`, its key) is made by a
 * `TerraformStateReplica` (or `TerraformStateReplicaStack`) in the other
 * region, deployed first, with `sourceBucketName` set to this backend's
 * `bucketName`. Both sides derive the replica's names from the state bucket's
 * name, so no cross-stack reference is needed and every backend's replica is
 * its own: two backends replicating into one bucket would mix their state
 * there (the same keys overwrite each other, and the replica's version
 * lifecycle counts the versions of both), which is refused at synth time
 * within one app.
 *
 * In a stack whose region is not known at synth time, a template rule refuses
 * a deploy into `region` itself.
 */
export interface StateReplication {
  /**
   * The region of the replica bucket; must differ from the backend's region.
   */
  readonly region: string;

  /**
   * Name of the replica bucket.
   *
   * @default - `<bucketName>-replica`, the name a `TerraformStateReplica` with
   * this backend's `bucketName` as its `sourceBucketName` gives it (refused when
   * it would be longer than 63 characters)
   */
  readonly bucketName?: string;

  /**
   * ARN of the KMS key (or alias) in the replica region that encrypts replicas.
   * Only used with `StateEncryption.KMS`; the key must let the replication role
   * encrypt with it.
   *
   * @default - with `StateEncryption.KMS`, the alias `alias/<replica bucket
   * name>` (dots made dashes) in the replica region, which a
   * `TerraformStateReplica` makes and opens to the replication roles
   */
  readonly kmsKeyArn?: string;
}

/**
 * The settings of a `TerraformStateBackend` that name no resource of their own
 * and refer to nothing in the app, so that they mean the same in every account
 * and region: what a `TerraformStateBackendStackSet` can roll out.
 */
export interface TerraformStateBackendOptions extends DataProtectionOptions {
  /**
   * Name of the DynamoDB lock table. Table names are unique per account and
   * region: a second backend in the same account and region needs another name.
   *
   * Not allowed with `LockingMode.S3_LOCKFILE`, which makes no table.
   *
   * @default 'terraform-lock'
   */
  readonly lockTableName?: string;

  /**
   * How Terraform locks state.
   *
   * @default LockingMode.DYNAMODB
   */
  readonly locking?: LockingMode;

  /**
   * How state is encrypted at rest.
   *
   * @default - `StateEncryption.KMS` when `encryptionKey` is given, otherwise
   * `StateEncryption.S3_MANAGED`
   */
  readonly encryption?: StateEncryption;

  /**
   * The state key written into the emitted backend block (`key`): where the
   * default workspace's state lives in the bucket. Non-empty, no leading or
   * trailing `/`, no `//`, at most 1024 bytes.
   *
   * @default 'terraform.tfstate'
   */
  readonly stateKey?: string;

  /**
   * The `workspace_key_prefix` written into the emitted block: non-default
   * workspaces keep state at `<prefix>/<workspace>/<key>`.
   *
   * @default - not written; Terraform's own default, `env:`, applies
   */
  readonly workspaceKeyPrefix?: string;

  /**
   * Whether to write S3 server access logs of the state bucket.
   *
   * Turning them off leaves no record of who read or wrote state (CloudTrail
   * data events aside) and is reported by cdk-nag (AwsSolutions-S1).
   *
   * @default true
   */
  readonly serverAccessLogs?: boolean;

  /**
   * The key prefix of the access logs in the log bucket.
   *
   * @default 'state-bucket-access-logs/'
   */
  readonly serverAccessLogsPrefix?: string;

  /**
   * Publish the backend's settings as SSM parameters under `discoveryPrefix`,
   * so that pipelines can find them: `bucket`, `region`, `lock-table` (with a
   * table), `kms-key-arn` (with a customer key) and `backend-config` (the
   * partial configuration file for `terraform init -backend-config=FILE`).
   *
   * @default true
   */
  readonly discovery?: boolean;

  /**
   * The path prefix of the discovery parameters: starts and ends with `/`.
   * SSM parameter names are unique per account and region: a second backend
   * there needs another prefix.
   *
   * @default '/terraform/backend/'
   */
  readonly discoveryPrefix?: string;
}

/**
 * Properties of a `TerraformStateBackend`: its options, and the settings that
 * name a resource (`bucketName`) or refer to one of this app
 * (`encryptionKey`, `serverAccessLogsBucket`, `replication`).
 */
export interface TerraformStateBackendProps extends TerraformStateBackendOptions {
  /**
   * Name of the S3 bucket that holds state.
   *
   * @default - `terraform-state-<account>-<region>`, from the stack's account
   * and region (the `AWS::AccountId` and `AWS::Region` pseudo parameters in an
   * environment-agnostic stack), so one template serves every account and region
   */
  readonly bucketName?: string;

  /**
   * The customer-managed KMS key for `StateEncryption.KMS`. Only allowed with
   * `StateEncryption.KMS`.
   *
   * @default - with `StateEncryption.KMS`, a new key with rotation on, an
   * alias `alias/<bucket name>` and the backend's removal policy
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * The bucket that receives the state bucket's access logs.
   *
   * This construct grants `logging.s3.amazonaws.com` `s3:PutObject` under
   * `serverAccessLogsPrefix` through the bucket's policy (never through the
   * LogDeliveryWrite ACL), narrowed to the state bucket (`aws:SourceArn`, when
   * its name is known at synth time) and its account (`aws:SourceAccount`). A
   * bucket imported with `Bucket.fromBucketName` has no policy this construct
   * can change: grant log delivery there yourself. The log bucket must be in
   * the state bucket's account and region, and use SSE-S3: S3 does not deliver
   * access logs to SSE-KMS buckets.
   *
   * @default - a dedicated log bucket (SSE-S3, versioned, private, TLS-only,
   * retained like the state bucket)
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * Replicate every state object version, delete markers included, to a bucket
   * in another region.
   *
   * Not available with `StateEncryption.KMS_MANAGED`: the `aws/s3` key's policy
   * cannot be opened to the replication role. Use `KMS` or `S3_MANAGED`.
   *
   * @default - no replication
   */
  readonly replication?: StateReplication;
}

/**
 * How a deployed backend is described to an app that did not make it: what
 * Terraform's backend block says, and where the backend lives.
 */
export interface TerraformStateBackendAttributes {
  /**
   * The name of the state bucket.
   */
  readonly bucketName: string;

  /**
   * The account the backend lives in.
   *
   * @default - the account of the importing stack
   */
  readonly account?: string;

  /**
   * The region the backend lives in.
   *
   * @default - the region of the importing stack
   */
  readonly region?: string;

  /**
   * How Terraform locks state on it.
   *
   * @default LockingMode.DYNAMODB
   */
  readonly locking?: LockingMode;

  /**
   * The name of the lock table. Not allowed with `LockingMode.S3_LOCKFILE`.
   *
   * @default 'terraform-lock' with a lock table
   */
  readonly lockTableName?: string;

  /**
   * How state is encrypted at rest.
   *
   * @default - `StateEncryption.KMS` when `encryptionKey` is given, otherwise
   * `StateEncryption.S3_MANAGED`
   */
  readonly encryption?: StateEncryption;

  /**
   * The customer-managed key that encrypts state (for example
   * `kms.Key.fromKeyArn(...)`); required with `StateEncryption.KMS`, which
   * Terraform must name in `kms_key_id`.
   *
   * @default - none
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * The default state key of the emitted block, and of the grants.
   *
   * @default 'terraform.tfstate'
   */
  readonly stateKey?: string;

  /**
   * The `workspace_key_prefix` of the emitted block.
   *
   * @default - not written; Terraform's own default, `env:`, applies
   */
  readonly workspaceKeyPrefix?: string;

  /**
   * The path prefix of the backend's discovery parameters, for
   * `grants.discoveryRead()`.
   *
   * @default - no discovery parameters: `grants.discoveryRead()` throws
   */
  readonly discoveryPrefix?: string;
}

/**
 * How to find a deployed backend by the SSM parameters it publishes, in the
 * importing stack's account and region.
 *
 * The parameters are read at deploy time (CloudFormation parameters of type
 * `AWS::SSM::Parameter::Value<String>`), so the bucket name, the region, the
 * table name and the key ARN are tokens in the app. What decides which
 * statements a grant makes cannot be a token, and is given here: the locking
 * mode and the encryption (which also say which parameters exist: a missing
 * parameter fails the deploy), and the state key.
 */
export interface TerraformStateBackendDiscoveryOptions {
  /**
   * The path prefix of the discovery parameters.
   *
   * @default '/terraform/backend/'
   */
  readonly prefix?: string;

  /**
   * How the deployed backend locks state: with a table, its name is read from
   * `<prefix>lock-table`.
   *
   * @default LockingMode.DYNAMODB
   */
  readonly locking?: LockingMode;

  /**
   * How the deployed backend encrypts state: with `StateEncryption.KMS`, the
   * key's ARN is read from `<prefix>kms-key-arn`.
   *
   * @default StateEncryption.S3_MANAGED
   */
  readonly encryption?: StateEncryption;

  /**
   * The default state key of the emitted block, and of the grants.
   *
   * @default 'terraform.tfstate'
   */
  readonly stateKey?: string;

  /**
   * The `workspace_key_prefix` of the emitted block.
   *
   * @default - not written; Terraform's own default, `env:`, applies
   */
  readonly workspaceKeyPrefix?: string;
}

/**
 * Everything Terraform's (and OpenTofu's) `s3` backend needs in one account and
 * region: a versioned, encrypted, private, TLS-only S3 bucket for state, the
 * lock table (`LockID` partition key), and the ready
 * `terraform { backend "s3" { ... } }` block as a stack output.
 *
 * State is kept safe by default: the bucket, the table and any key are retained
 * when the stack is deleted, the table has deletion protection and
 * point-in-time recovery, old versions of state are kept (the newest ten always),
 * and no one may delete them.
 *
 * @example
 * const backend = new TerraformStateBackend(this, 'Backend', {
 *   stateKey: 'network/terraform.tfstate',
 * });
 */
export class TerraformStateBackend extends TerraformStateBackendBase {
  /**
   * A backend deployed elsewhere (another stack, app or account), from its
   * names and settings, for its rendered block and its grants. Every ARN the
   * grants need is built from these names.
   *
   * @param scope the construct to add the import to
   * @param id the import's construct ID
   * @param attrs the backend's names and settings
   */
  public static fromBackendAttributes(scope: Construct, id: string, attrs: TerraformStateBackendAttributes): ITerraformStateBackend {
    return importBackend(scope, id, attrs);
  }

  /**
   * A backend deployed in the importing stack's account and region, found by
   * the SSM parameters it publishes (`discovery`), read at deploy time.
   * The settings that decide the grants' statements are given in `options`;
   * see `TerraformStateBackendDiscoveryOptions`. For another account or
   * region, use `fromBackendAttributes()`.
   *
   * @param scope the construct to add the import to
   * @param id the import's construct ID
   * @param options the prefix and the settings that cannot be tokens
   */
  public static fromDiscovery(scope: Construct, id: string, options: TerraformStateBackendDiscoveryOptions = {}): ITerraformStateBackend {
    return importBackendFromDiscovery(scope, id, options);
  }

  /**
   * The bucket that holds state. Undefined only when the props are invalid
   * (reported as an error at synth time).
   */
  public readonly bucket!: s3.IBucket;

  /**
   * The DynamoDB lock table; undefined with `LockingMode.S3_LOCKFILE`.
   */
  public readonly lockTable?: dynamodb.ITable;

  /**
   * The bucket that receives the state bucket's access logs; undefined when
   * `serverAccessLogs` is false.
   */
  public readonly logBucket?: s3.IBucket;

  /**
   * The customer-managed key that encrypts state and the lock table; undefined
   * unless `encryption` is `StateEncryption.KMS`.
   */
  public readonly encryptionKey?: kms.IKey;

  /**
   * The locking mode in use.
   */
  public readonly locking: LockingMode;

  /**
   * The encryption in use.
   */
  public readonly encryption: StateEncryption;

  /**
   * The name of the state bucket (may be a token).
   */
  public readonly bucketName: string;

  /**
   * The account of the backend's stack (may be a token).
   */
  public readonly account: string;

  /**
   * The region of the backend's stack (may be a token).
   */
  public readonly region: string;

  /**
   * The name of the lock table (may be a token); undefined without a table.
   */
  public readonly lockTableName?: string;

  /**
   * The default state key of the emitted block.
   */
  public readonly stateKey: string;

  /**
   * The workspace key prefix of the emitted block, when one was set.
   */
  public readonly workspaceKeyPrefix?: string;

  /**
   * The path prefix of the discovery parameters; undefined when `discovery` is false.
   */
  public readonly discoveryPrefix?: string;

  /**
   * Terraform's permissions on this backend, key by key.
   */
  public readonly grants: StateGrants;

  /** @internal */
  protected readonly _facts?: BackendFacts;

  /**
   * @param scope the construct (usually a stack) to add the backend to
   * @param id the backend's construct ID
   * @param props the backend's settings; all optional
   */
  constructor(scope: Construct, id: string, props: TerraformStateBackendProps = {}) {
    super(scope, id);
    assertAwsCdkLibVersion();

    // Resolve
    const stack = Stack.of(this);
    const settings = resolveBackendSettings(props, stack.account, stack.region);
    const { removalPolicy } = settings;
    this.account = stack.account;
    this.region = stack.region;
    this.locking = settings.locking;
    this.encryption = settings.encryption;
    this.bucketName = settings.bucketName;
    this.stateKey = settings.stateKey;
    this.workspaceKeyPrefix = settings.workspaceKeyPrefix;
    this.lockTableName = settings.lockTableName;
    this.discoveryPrefix = settings.discoveryPrefix;

    // Validate
    const rejected = reportFaults(this, backendFaults(props, settings, this.region));
    if (rejected !== undefined) {
      this.grants = StateGrants._rejecting(rejected);
      return;
    }
    this.warn(settings.removalPolicy, settings.accessLogs);
    claimPhysicalNames(this, backendNames(settings, props.encryptionKey === undefined,
      props.replication ? replicationDestination(this.bucketName, props.replication) : undefined));

    // Build. What protects state that outlives the stack goes only with it (see the end).
    const retained: IResource[] = [];
    let keyAlias: string | undefined;
    if (this.encryption === StateEncryption.KMS && props.encryptionKey) {
      this.encryptionKey = props.encryptionKey;
    } else if (this.encryption === StateEncryption.KMS) {
      const made = makeStateKey(this, this.bucketName, removalPolicy);
      retained.push(made.alias);
      keyAlias = made.aliasName;
      this.encryptionKey = made.key;
    }

    const ownLogBucket = settings.accessLogs && !props.serverAccessLogsBucket
      ? makeAccessLogBucket(this, 'AccessLogBucket', removalPolicy, props.serverAccessLogsRetention)
      : undefined;
    this.logBucket = settings.accessLogs ? props.serverAccessLogsBucket ?? ownLogBucket : undefined;

    const bucket = makeStateBucket(this, this.bucketName, this.encryption, this.encryptionKey, removalPolicy, props);
    this.bucket = bucket;
    if (this.logBucket) {
      deliverAccessLogs(bucket, this.bucketName, this.logBucket, settings.accessLogsPrefix, 'AllowStateBucketAccessLogDelivery');
    }
    if (settings.protectStateHistory) {
      protectHistory(bucket, settings.stateHistoryAdmins);
    }
    if (props.replication) {
      retained.push(...replicateState(this, bucket, this.bucketName, this.encryptionKey, props.replication));
    }
    if (props.organizationId) {
      applyOrganizationBoundary(this, props.organizationId, ownLogBucket ? [bucket, ownLogBucket] : [bucket],
        props.encryptionKey ? undefined : this.encryptionKey);
    }

    const table = this.lockTableName !== undefined ? makeLockTable(this, this.lockTableName, this.encryptionKey, removalPolicy) : undefined;
    this.lockTable = table;

    this._facts = factsOf(this, { bucket, lockTable: table, keyAlias, discoveryPrefix: this.discoveryPrefix });
    this.grants = StateGrants._of(this._facts);

    if (this.discoveryPrefix !== undefined) {
      retained.push(...publishDiscovery(this, this.discoveryPrefix, {
        bucket: this.bucketName,
        region: this.region,
        lockTable: this.lockTableName,
        kmsKeyArn: this.encryptionKey?.keyArn,
        backendConfig: this.renderBackendConfigFile(),
      }));
    }

    // With RETAIN, the buckets, table and key outlive the stack; so must what
    // protects them and finds them: the bucket policies (TLS only, history
    // deny, organization boundary), the key's alias, the discovery parameters
    // and the replication role. They follow `removalPolicy` like the rest.
    retained.push(bucket.policy!, ...(ownLogBucket ? [ownLogBucket.policy!] : []));
    for (const resource of retained) {
      resource.applyRemovalPolicy(removalPolicy);
    }

    addBackendOutputs(this, this.renderBackendBlock(), this.renderBackendConfigFile(), bucket.bucketName, table?.tableName);
  }

  /**
   * Grants what Terraform needs to read, write and lock the state of one
   * Terraform configuration: `grants.readWrite()`.
   *
   * @deprecated use `grants.readWrite(grantee, { keyPattern, ... })`; removed in 0.3
   * @param grantee the principal, e.g. a CI role
   * @param pattern the state key, or an IAM pattern of state keys (named
   * `pattern`, not `keyPattern`, so that it cannot clash with
   * `options.keyPattern` in Python; there, `key_pattern=` fills the option, with
   * the same effect). Default: `options.keyPattern`, or the construct's `stateKey`
   * @param options workspaces, and how narrow the listing is
   */
  public grantStateReadWrite(grantee: iam.IGrantable, pattern?: string, options: StateGrantOptions = {}): iam.Grant {
    return this.grants.readWrite(grantee, { ...options, keyPattern: pattern ?? options.keyPattern });
  }

  /**
   * Grants what Terraform needs to read the state of one Terraform
   * configuration: `grants.read()`.
   *
   * @deprecated use `grants.read(grantee, { keyPattern, ... })`; removed in 0.3
   * @param grantee the principal, e.g. a role of a consuming configuration
   * @param pattern the state key, or an IAM pattern of state keys (named
   * `pattern`, not `keyPattern`, so that it cannot clash with
   * `options.keyPattern` in Python; there, `key_pattern=` fills the option, with
   * the same effect). Default: `options.keyPattern`, or the construct's `stateKey`
   * @param options workspaces, and how narrow the listing is
   */
  public grantStateRead(grantee: iam.IGrantable, pattern?: string, options: StateGrantOptions = {}): iam.Grant {
    return this.grants.read(grantee, { ...options, keyPattern: pattern ?? options.keyPattern });
  }

  /**
   * Grants `ssm:GetParameter` and `ssm:GetParameters` on the discovery
   * parameters: `grants.discoveryRead()`.
   *
   * @deprecated use `grants.discoveryRead(grantee)`; removed in 0.3
   * @param grantee the principal, e.g. a CI role
   */
  public grantDiscoveryRead(grantee: iam.IGrantable): iam.Grant {
    return this.grants.discoveryRead(grantee);
  }

  private warn(removalPolicy: RemovalPolicy, accessLogs: boolean): void {
    if (removalPolicy === RemovalPolicy.DESTROY) {
      Annotations.of(this).addWarningV2('cdk-terraform-state-backend:removalPolicyDestroy',
        'removalPolicy is DESTROY: deleting the stack deletes the lock table and, once they are empty, the buckets ' +
        'and every state version in them. Keep RETAIN for state you cannot lose.');
    }
    if (!accessLogs) {
      Annotations.of(this).addWarningV2('cdk-terraform-state-backend:noAccessLogs',
        'serverAccessLogs is false: reads and writes of state are not logged.');
    }
  }
}

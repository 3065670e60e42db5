import { Annotations, Aws, CfnOutput, Duration, IResource, RemovalPolicy, Stack, Token, TokenComparison } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { bucketArn, keysArn, objectArn, parameterArn, tableArn } from './arns';
import { BackendConfig, BackendConfigOptions, renderBackendBlock, renderBackendConfigFile } from './backend-config';
import {
  deliverAccessLogs,
  denyOutsideOrganization,
  denyOutsideOrganizationOnKey,
  hardenedBucketProps,
  makeAccessLogBucket,
  protectHistory,
  stateLifecycleRules,
} from './bucket-hardening';
import { acknowledgeNagRules, nagFindingText } from './nag';
import { principalReach } from './principal-reach';
import { replicaBucketName, REPLICA_KEY_ALIAS, REPLICATION_ROLE_PATH } from './replica-names';
import {
  bucketNameFaults,
  dataProtectionFaults,
  discoveryPrefixFaults,
  enumFaults,
  organizationIdFaults,
  regionFaults,
  show,
  stateKeyFaults,
  tableNameFaults,
  throwIfFaults,
  workspaceKeyPrefixFaults,
} from './validation';
import { assertAwsCdkLibVersion } from './private/cdk-version';

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
 * Cross-region replication of every state object version.
 *
 * The replica bucket (and, for `StateEncryption.KMS`, its key) is made by a
 * `TerraformStateReplica` (or `TerraformStateReplicaStack`) in the other
 * region, deployed first. Both sides derive the names from the account and the
 * replica region, so no cross-stack reference is needed.
 */
export interface StateReplication {
  /**
   * The region of the replica bucket; must differ from the backend's region.
   */
  readonly region: string;

  /**
   * Name of the replica bucket.
   *
   * @default - `terraform-state-replica-<account>-<region>`, the name a
   * `TerraformStateReplica` gives it
   */
  readonly bucketName?: string;

  /**
   * ARN of the KMS key (or alias) in the replica region that encrypts replicas.
   * Only used with `StateEncryption.KMS`; the key must let the replication role
   * encrypt with it.
   *
   * @default - with `StateEncryption.KMS`, the alias `alias/terraform-state-replica`
   * in the replica region, which a `TerraformStateReplica` makes and opens to the
   * replication role
   */
  readonly kmsKeyArn?: string;
}

/**
 * Options for `grantStateReadWrite()` and `grantStateRead()`.
 */
export interface StateGrantOptions {
  /**
   * Also grant the state of non-default workspaces of the same key pattern,
   * `<workspaceKeyPrefix>/<workspace>/<keyPattern>` (any workspace). For
   * read-write, that includes `s3:DeleteObject` on those objects, which
   * `terraform workspace delete` needs (not on the default workspace's key).
   *
   * With an empty `workspaceKeyPrefix`, workspace state lives at
   * `<workspace>/<keyPattern>`, which a wildcard pattern can make overlap with
   * the default-workspace keys of other configurations.
   *
   * @default false
   */
  readonly workspaces?: boolean;

  /**
   * The workspace key prefix of the configuration the grant is for, when it
   * differs from the construct's (as with `renderBackendBlock({ workspaceKeyPrefix })`).
   *
   * @default - the construct's `workspaceKeyPrefix`
   */
  readonly workspaceKeyPrefix?: string;

  /**
   * Narrow `s3:ListBucket` with an `s3:prefix` condition to the granted state
   * keys (and `<workspaceKeyPrefix>/`, which Terraform lists to find
   * workspaces), as Terraform's documentation does.
   *
   * What it risks: Terraform reads state with `HeadObject` first and treats
   * only 404 Not Found as "no state yet". S3 answers 404 for a missing key only
   * to a caller that may list the bucket (otherwise 403 Forbidden), and that a
   * listing allowed only under an `s3:prefix` condition counts for that check
   * is not documented: a `HeadObject` request has no `s3:prefix`, and the IAM
   * policy simulator evaluates such a listing as denied. So the first
   * `terraform init` or `plan` on a new key or a new workspace may fail with
   * 403 on `HeadObject`. Use it only where the state objects always exist
   * before the grantee first runs.
   *
   * Without it, the grantee may list every key name in the bucket (names
   * only, not the state in them).
   *
   * @default false - `s3:ListBucket` on the whole bucket, so that a missing
   * state key answers 404
   */
  readonly listOnlyStateKeys?: boolean;
}

/**
 * The settings of a `TerraformStateBackend` that name no resource of their own
 * and refer to nothing in the app, so that they mean the same in every account
 * and region: what a `TerraformStateBackendStackSet` can roll out.
 */
export interface TerraformStateBackendOptions {
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
   * What happens to the state bucket, the log bucket, the lock table and a key
   * made by this construct when they are removed from the stack or the stack is
   * deleted. What protects and finds them follows the same policy: the bucket
   * policies, the key's alias, the discovery parameters and the replication
   * role and its policy.
   *
   * With `RemovalPolicy.DESTROY`, CloudFormation still cannot delete a bucket
   * that holds objects or object versions (this construct adds no
   * auto-delete Lambda): empty the buckets, all versions included, first. The
   * lock table's deletion protection is turned off so that it can be deleted.
   *
   * `RemovalPolicy.SNAPSHOT` is not allowed: S3 buckets cannot be snapshotted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

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
   * How long access logs are kept in the dedicated log bucket. Ignored with
   * `serverAccessLogsBucket`.
   *
   * @default Duration.days(365)
   */
  readonly serverAccessLogsRetention?: Duration;

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
   * @default 10
   */
  readonly noncurrentVersionsToRetain?: number;

  /**
   * Deny `s3:DeleteObjectVersion` on the state bucket to every principal except
   * `stateHistoryAdmins`, so that no one (a compromised pipeline role included)
   * can erase old versions of state. Terraform never deletes object versions,
   * and lifecycle expiry is not affected.
   *
   * @default true
   */
  readonly protectStateHistory?: boolean;

  /**
   * ARNs of the principals (roles, users) that may still delete object versions
   * when `protectStateHistory` is on, matched with `aws:PrincipalArn`
   * (wildcards allowed, e.g. for SSO role names).
   *
   * @default - none: no principal may delete object versions
   */
  readonly stateHistoryAdmins?: string[];

  /**
   * The ID of the AWS Organization (`o-...`) whose principals alone may use the
   * backend: the policies of the buckets and of a key this construct makes (not
   * of a given `encryptionKey` or `serverAccessLogsBucket`) deny every
   * principal outside it (`aws:PrincipalOrgID`): every S3 request, and the
   * key's use (`kms:Encrypt`, `kms:Decrypt`, `kms:ReEncrypt*`,
   * `kms:GenerateDataKey*`, `kms:CreateGrant`), never the key's administration,
   * so that after a move to another organization the account can still manage
   * the key. AWS service principals (S3 log delivery, replication through S3)
   * are not affected.
   *
   * @default - no organization boundary
   */
  readonly organizationId?: string;

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
export class TerraformStateBackend extends Construct {
  /**
   * The bucket that holds state.
   */
  public readonly bucket: s3.IBucket;

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

  private readonly stateBucket: s3.Bucket;
  private readonly discoveryParameters: ssm.StringParameter[] = [];
  private readonly discoveryParameterNames: string[] = [];
  private readonly table?: dynamodb.Table;
  /** The alias of a key this construct made; grants into other stacks name the key by it. */
  private readonly keyAlias?: string;

  /**
   * @param scope the construct (usually a stack) to add the backend to
   * @param id the backend's construct ID
   * @param props the backend's settings; all optional
   */
  constructor(scope: Construct, id: string, props: TerraformStateBackendProps = {}) {
    super(scope, id);
    assertAwsCdkLibVersion();

    const stack = Stack.of(this);
    this.locking = props.locking ?? LockingMode.DYNAMODB;
    this.encryption = props.encryption ?? (props.encryptionKey ? StateEncryption.KMS : StateEncryption.S3_MANAGED);
    this.bucketName = props.bucketName ?? `terraform-state-${stack.account}-${stack.region}`;
    this.stateKey = props.stateKey ?? 'terraform.tfstate';
    this.workspaceKeyPrefix = props.workspaceKeyPrefix;
    const usesTable = this.locking !== LockingMode.S3_LOCKFILE;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const accessLogs = props.serverAccessLogs ?? true;
    // What protects state that outlives the stack goes only with it (see the end).
    const retained: IResource[] = [];

    throwIfFaults(this.node.path, validateProps(props, stack.region, this.bucketName, this.stateKey, this.locking, this.encryption, accessLogs));

    if (removalPolicy === RemovalPolicy.DESTROY) {
      Annotations.of(this).addWarningV2('cdk-terraform-state-backend:removalPolicyDestroy',
        'removalPolicy is DESTROY: deleting the stack deletes the lock table and, once they are empty, the buckets ' +
        'and every state version in them. Keep RETAIN for state you cannot lose.');
    }
    if (!accessLogs) {
      Annotations.of(this).addWarningV2('cdk-terraform-state-backend:noAccessLogs',
        'serverAccessLogs is false: reads and writes of state are not logged.');
    }

    if (this.encryption === StateEncryption.KMS && props.encryptionKey) {
      this.encryptionKey = props.encryptionKey;
    } else if (this.encryption === StateEncryption.KMS) {
      this.keyAlias = `alias/${Token.isUnresolved(this.bucketName) ? this.bucketName : this.bucketName.replace(/\./g, '-')}`;
      const key = new kms.Key(this, 'StateKey', {
        description: `Encrypts Terraform state in ${this.bucketName} and its lock table`,
        enableKeyRotation: true,
        removalPolicy,
      });
      // What the `alias` prop would do (same construct ID), keeping the alias to retain it.
      retained.push(key.addAlias(this.keyAlias));
      this.encryptionKey = key;
    }

    const logPrefix = props.serverAccessLogsPrefix ?? 'state-bucket-access-logs/';
    this.logBucket = accessLogs
      ? (props.serverAccessLogsBucket ?? makeAccessLogBucket(this, 'AccessLogBucket', removalPolicy, props.serverAccessLogsRetention))
      : undefined;

    const bucket = new s3.Bucket(this, 'StateBucket', {
      ...hardenedBucketProps(removalPolicy),
      bucketName: this.bucketName,
      ...bucketEncryption(this.encryption, this.encryptionKey),
      lifecycleRules: stateLifecycleRules(props),
    });
    this.bucket = bucket;
    this.stateBucket = bucket;

    if (this.logBucket) {
      deliverAccessLogs(bucket, this.bucketName, this.logBucket, logPrefix, 'AllowStateBucketAccessLogDelivery');
    }
    if (props.protectStateHistory ?? true) {
      protectHistory(bucket, props.stateHistoryAdmins ?? []);
    }
    if (props.replication) {
      retained.push(...this.replicate(bucket, props.replication));
    }
    if (props.organizationId) {
      denyOutsideOrganization(bucket, props.organizationId);
      if (this.logBucket && !props.serverAccessLogsBucket) {
        denyOutsideOrganization(this.logBucket as s3.Bucket, props.organizationId);
      }
      if (this.encryptionKey && !props.encryptionKey) {
        denyOutsideOrganizationOnKey(this.encryptionKey, props.organizationId);
      }
    }

    if (usesTable) {
      this.lockTableName = props.lockTableName ?? 'terraform-lock';
      this.lockTable = this.table = new dynamodb.Table(this, 'LockTable', {
        tableName: this.lockTableName,
        partitionKey: { name: 'LockID', type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
        // Without a customer key, DynamoDB's AWS owned key (no KMS calls, no cost),
        // not the AWS managed key aws/dynamodb: DynamoDB refuses resource-policy
        // access from other accounts to a table on aws/dynamodb.
        ...(this.encryptionKey
          ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: this.encryptionKey }
          : { encryption: dynamodb.TableEncryption.DEFAULT }),
        removalPolicy,
      });
      acknowledgeNagRules(this.table, ['HIPAA.Security', 'NIST.800.53.R5'].map((pack) => ({
        id: `${pack}-DynamoDBInBackupPlan`,
        reason: 'The lock table holds only transient lock items and state digests that Terraform rewrites on every state write; ' +
          'point-in-time recovery and deletion protection are on, and a backup would restore stale locks.',
      })));
    }

    this.discoveryPrefix = (props.discovery ?? true) ? props.discoveryPrefix ?? '/terraform/backend/' : undefined;
    if (this.discoveryPrefix !== undefined) {
      this.publishDiscovery(this.discoveryPrefix);
    }

    // With RETAIN, the buckets, table and key outlive the stack; so must what
    // protects them and finds them: the bucket policies (TLS only, history
    // deny, organization boundary), the key's alias, the discovery parameters
    // and the replication role. They follow `removalPolicy` like the rest.
    retained.push(bucket.policy!, ...this.discoveryParameters);
    if (this.logBucket && !props.serverAccessLogsBucket) {
      retained.push((this.logBucket as s3.Bucket).policy!);
    }
    for (const resource of retained) {
      resource.applyRemovalPolicy(removalPolicy);
    }

    new CfnOutput(this, 'BackendBlock', {
      description: 'The terraform { backend "s3" { ... } } block for this state backend',
      value: this.renderBackendBlock(),
    });
    new CfnOutput(this, 'BackendConfigFile', {
      description: 'Partial backend configuration for terraform init -backend-config=backend.hcl',
      value: this.renderBackendConfigFile(),
    });
    new CfnOutput(this, 'StateBucketName', {
      description: 'The S3 bucket that holds Terraform state',
      value: bucket.bucketName,
    });
    if (this.lockTable) {
      new CfnOutput(this, 'LockTableName', {
        description: 'The DynamoDB table that holds Terraform state locks',
        value: this.lockTable.tableName,
      });
    }
  }

  /**
   * The backend settings as data. Values may be tokens.
   *
   * @param options the state key and workspace key prefix of one Terraform
   * configuration, when it differs from the construct's
   */
  public backendConfig(options: BackendConfigOptions = {}): BackendConfig {
    const key = options.stateKey ?? this.stateKey;
    const workspaceKeyPrefix = options.workspaceKeyPrefix ?? this.workspaceKeyPrefix;
    throwIfFaults(`${this.node.path} backendConfig()`, [
      ...stateKeyFaults('stateKey', key),
      ...(workspaceKeyPrefix === undefined ? [] : workspaceKeyPrefixFaults('workspaceKeyPrefix', workspaceKeyPrefix)),
    ]);
    return {
      bucket: this.bucketName,
      key,
      region: Stack.of(this).region,
      dynamodbTable: this.lockTableName,
      useLockfile: this.locking === LockingMode.DYNAMODB ? undefined : true,
      encrypt: true,
      kmsKeyId: this.kmsKeyIdForTerraform(),
      workspaceKeyPrefix,
    };
  }

  /**
   * The `terraform { backend "s3" { ... } }` block, exactly as `terraform fmt`
   * prints it. Unresolved values (such as the bucket name of an
   * environment-agnostic stack) resolve when the string is used in the stack,
   * for example in a `CfnOutput`.
   *
   * @param options the state key and workspace key prefix of one Terraform
   * configuration, when it differs from the construct's
   */
  public renderBackendBlock(options: BackendConfigOptions = {}): string {
    return renderBackendBlock(this.backendConfig(options));
  }

  /**
   * The partial backend configuration for
   * `terraform init -backend-config=backend.hcl`: the attributes of the block,
   * without the `terraform` and `backend` wrappers.
   *
   * @param options the state key and workspace key prefix of one Terraform
   * configuration, when it differs from the construct's
   */
  public renderBackendConfigFile(options: BackendConfigOptions = {}): string {
    return renderBackendConfigFile(this.backendConfig(options));
  }

  /**
   * Grants what Terraform needs to read, write and lock the state of one
   * Terraform configuration, exactly as Terraform documents it and nothing more:
   *
   * - `s3:ListBucket` on the bucket, so that a missing state key answers 404
   *   (with `listOnlyStateKeys`, narrowed by an `s3:prefix` condition to the
   *   state keys and, with workspaces or a custom prefix, `<workspaceKeyPrefix>/`);
   * - `s3:GetObject` and `s3:PutObject` on the state objects; with `workspaces`,
   *   `s3:DeleteObject` on the workspaces' state objects `<workspaceKeyPrefix>/<workspace>/<key>`,
   *   which `terraform workspace delete` deletes (never on the default
   *   workspace's key, which Terraform does not delete);
   * - with lock files, `s3:GetObject`, `s3:PutObject` and `s3:DeleteObject` on
   *   `<state key>.tflock` only;
   * - with the lock table, `dynamodb:DescribeTable`, `GetItem`, `PutItem` and
   *   `DeleteItem` on the table, narrowed by a `dynamodb:LeadingKeys` condition to
   *   the lock items `<bucket>/<state key>` and digest items `<bucket>/<state key>-md5`
   *   (`DeleteItem` releases a lock, and removes a deleted workspace's digest item);
   * - with a customer-managed key, `kms:Encrypt`, `kms:Decrypt` and
   *   `kms:GenerateDataKey` on it.
   *
   * A `keyPattern` with `*` needs IAM wildcards, which cdk-nag reports
   * (AwsSolutions-IAM5); the default pattern does not.
   *
   * @param grantee the principal, e.g. a CI role
   * @param keyPattern the state key, or an IAM pattern of state keys such as
   * `network/*` (no leading or trailing `/`, no `//`). Default: the construct's `stateKey`
   * @param options workspaces, and how narrow the listing is
   */
  public grantStateReadWrite(grantee: iam.IGrantable, keyPattern?: string, options: StateGrantOptions = {}): iam.Grant {
    const paths = this.grantedStatePaths(grantee, keyPattern, options);
    let grant = this.grantList(grantee, paths, options)
      .combine(this.grantObjects(grantee, ['s3:GetObject', 's3:PutObject'], paths));
    if (options.workspaces) {
      // `terraform workspace delete` deletes the workspace's state object (a
      // delete marker: the versions stay) and its digest item, which the
      // lock-table statement below covers. Never the default workspace's key.
      grant = grant.combine(this.grantObjects(grantee, ['s3:DeleteObject'], paths.slice(1)));
    }
    if (this.locking !== LockingMode.DYNAMODB) {
      grant = grant.combine(this.grantObjects(grantee, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], paths.map((p) => `${p}.tflock`)));
    }
    if (this.table) {
      grant = grant.combine(this.grantItems(grantee,
        ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
        paths.flatMap((p) => [`${this.bucketName}/${p}`, `${this.bucketName}/${p}-md5`])));
    }
    if (this.encryptionKey) {
      grant = grant.combine(this.grantKey(grantee, ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey']));
    }
    return grant;
  }

  /**
   * Grants what `terraform_remote_state` and `terraform output` need to read the
   * state of one Terraform configuration: the listing (as for read-write),
   * `s3:GetObject` on the state objects, `dynamodb:GetItem` on their digest items
   * `<bucket>/<state key>-md5` only (with `dynamodb_table` set, Terraform checks
   * the state against its digest on every read, and warns when it cannot), and
   * `kms:Decrypt` with a customer-managed key.
   * No writes and no locks.
   *
   * @param grantee the principal, e.g. a role of a consuming configuration
   * @param keyPattern the state key, or an IAM pattern of state keys. Default:
   * the construct's `stateKey`
   * @param options workspaces, and how narrow the listing is
   */
  public grantStateRead(grantee: iam.IGrantable, keyPattern?: string, options: StateGrantOptions = {}): iam.Grant {
    const paths = this.grantedStatePaths(grantee, keyPattern, options);
    let grant = this.grantList(grantee, paths, options)
      .combine(this.grantObjects(grantee, ['s3:GetObject'], paths));
    if (this.table) {
      grant = grant.combine(this.grantItems(grantee, ['dynamodb:GetItem'], paths.map((p) => `${this.bucketName}/${p}-md5`)));
    }
    if (this.encryptionKey) {
      grant = grant.combine(this.grantKey(grantee, ['kms:Decrypt']));
    }
    return grant;
  }

  /**
   * Grants `ssm:GetParameter` and `ssm:GetParameters` on the discovery
   * parameters, for pipelines that read the backend's settings from SSM.
   *
   * @param grantee the principal, e.g. a CI role
   */
  public grantDiscoveryRead(grantee: iam.IGrantable): iam.Grant {
    if (this.discoveryParameters.length === 0) {
      throw new Error(`${this.node.path}: grantDiscoveryRead() needs \`discovery\`, which is false`);
    }
    const faults: string[] = [];
    const outside = this.granteeOutside(grantee, faults);
    if (outside !== undefined) {
      faults.push(`the grantee ${outside}, but standard SSM parameters cannot be read from another account; ` +
        'let its pipeline assume a role of this account for the read');
    }
    throwIfFaults(`${this.node.path} grantDiscoveryRead()`, faults);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:GetParameter', 'ssm:GetParameters'],
      resourceArns: this.discoveryParameterNames.map((name) => parameterArn(Stack.of(this), name)),
    });
  }

  /**
   * How far a grant to `grantee` reaches beyond this stack's account (see
   * `principalReach`); a `*` principal without conditions is a fault, added to
   * `faults`.
   */
  private granteeOutside(grantee: iam.IGrantable, faults: string[]): string | undefined {
    const reach = principalReach(Stack.of(this), grantee.grantPrincipal);
    if (reach.anyone) {
      faults.push('the grantee is a `*` principal without conditions (AnyPrincipal, StarPrincipal or ArnPrincipal(\'*\')): ' +
        'that would open Terraform state to anyone, and S3 Block Public Access rejects such a bucket policy at deploy time; ' +
        'grant roles, accounts or an organization instead');
    }
    return reach.outside;
  }

  private publishDiscovery(prefix: string): void {
    const values: Array<[string, string | undefined, string]> = [
      ['bucket', this.bucketName, 'The S3 bucket that holds Terraform state'],
      ['region', Stack.of(this).region, 'The region of the Terraform state backend'],
      ['lock-table', this.lockTableName, 'The DynamoDB table that holds Terraform state locks'],
      ['kms-key-arn', this.encryptionKey?.keyArn, 'The KMS key that encrypts Terraform state'],
      ['backend-config', this.renderBackendConfigFile(), 'Partial backend configuration for terraform init -backend-config=FILE'],
    ];
    for (const [name, value, description] of values) {
      if (value === undefined) {
        continue;
      }
      this.discoveryParameterNames.push(`${prefix}${name}`);
      this.discoveryParameters.push(new ssm.StringParameter(this, `Discovery${name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`, {
        parameterName: `${prefix}${name}`,
        stringValue: value,
        description,
        tier: ssm.ParameterTier.STANDARD,
      }));
    }
  }

  /** The state object keys a grant covers: the pattern, then its workspace path when asked. */
  private grantedStatePaths(grantee: iam.IGrantable, keyPattern: string | undefined, options: StateGrantOptions): string[] {
    const key = keyPattern ?? this.stateKey;
    const faults = stateKeyFaults('keyPattern', key);
    if (options.workspaceKeyPrefix !== undefined) {
      faults.push(...workspaceKeyPrefixFaults('workspaceKeyPrefix', options.workspaceKeyPrefix));
    }
    const outside = this.granteeOutside(grantee, faults);
    if (outside !== undefined && this.encryption === StateEncryption.KMS_MANAGED) {
      faults.push(`the grantee ${outside}, but \`encryption\` is KMS_MANAGED: the aws/s3 key cannot be used ` +
        'from another account; use StateEncryption.KMS or S3_MANAGED for cross-account access');
    }
    throwIfFaults(`${this.node.path} grant`, faults);
    return options.workspaces ? [key, `${this.workspacePrefixPath(options)}*/${key}`] : [key];
  }

  /** `<workspaceKeyPrefix>/`, or nothing for an empty prefix (Terraform then lists the whole bucket). */
  private workspacePrefixPath(options: StateGrantOptions): string {
    const prefix = options.workspaceKeyPrefix ?? this.workspaceKeyPrefix ?? 'env:';
    return prefix === '' ? '' : `${prefix}/`;
  }

  /**
   * `s3:ListBucket` on the bucket. Unconditioned by default: S3 answers
   * `HeadObject` on a missing key with 404 only to a caller that may list the
   * bucket, and a listing allowed only under an `s3:prefix` condition is not
   * documented to count (the request has no `s3:prefix`), so Terraform's first
   * read of a new key could get 403, which it treats as a failure, not as "no
   * state yet".
   */
  private grantList(grantee: iam.IGrantable, paths: string[], options: StateGrantOptions): iam.Grant {
    let conditions: Record<string, Record<string, unknown>> | undefined;
    if (options.listOnlyStateKeys) {
      // Terraform lists `<workspaceKeyPrefix>/` on every run to find workspaces; a
      // denied listing is tolerated only for the default prefix `env:`.
      const prefix = options.workspaceKeyPrefix ?? this.workspaceKeyPrefix;
      const listsWorkspaces = options.workspaces || (prefix !== undefined && prefix !== 'env:');
      conditions = { StringLike: { 's3:prefix': listsWorkspaces ? [...paths, this.workspacePrefixPath(options)] : paths } };
    }
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [bucketArn(Stack.of(this), this.bucketName)],
      resource: this.stateBucket,
      conditions,
    });
  }

  private grantObjects(grantee: iam.IGrantable, actions: string[], keys: string[]): iam.Grant {
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions,
      resourceArns: keys.map((k) => objectArn(Stack.of(this), this.bucketName, k)),
      resource: this.stateBucket,
    });
  }

  private grantItems(grantee: iam.IGrantable, actions: string[], leadingKeys: string[]): iam.Grant {
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions,
      // From the name, not `tableArn` (see arns.ts); besides, a cross-account grant
      // lands in the table's own resource policy, which cannot refer to the table's attributes.
      resourceArns: [tableArn(Stack.of(this), this.lockTableName!)],
      resource: this.table!,
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': leadingKeys } },
    });
  }

  /**
   * Grants the use of the customer key. A key made here, granted to a principal
   * in another stack, is named by its alias (`kms:ResourceAliases` on the keys
   * of this account and region): its ARN would be a cross-stack reference, an
   * export of this stack, and an alias ARN in `Resource` governs only the alias,
   * not the key (KMS authorizes key operations on the key's ARN). The alias is
   * this stack's and points at this key alone. A principal of another account
   * also gets the statement in the key policy, which applies to this key only.
   * Within this stack, and for a given `encryptionKey`, the key's own `grant()`.
   */
  private grantKey(grantee: iam.IGrantable, actions: string[]): iam.Grant {
    const key = this.encryptionKey!;
    const principal = grantee.grantPrincipal;
    if (this.keyAlias === undefined || !Construct.isConstruct(principal) || Stack.of(principal) === Stack.of(this)) {
      return key.grant(grantee, ...actions);
    }
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [keysArn(Stack.of(this))],
      conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': this.keyAlias } },
    });
    const sameAccount = principal.principalAccount !== undefined &&
      [TokenComparison.SAME, TokenComparison.BOTH_UNRESOLVED].includes(Token.compareStrings(Stack.of(this).account, principal.principalAccount));
    if (grant.success && sameAccount) {
      return grant;
    }
    return grant.combine(iam.Grant.addStatementToResourcePolicy({
      grantee,
      actions,
      resourceArns: ['*'],
      resource: key,
      statement: new iam.PolicyStatement({ principals: [principal], actions, resources: ['*'] }),
    }));
  }

  /**
   * Replicates every object version and delete marker to the replica bucket,
   * through a role that may do exactly that; returns the role and its policy.
   */
  private replicate(bucket: s3.Bucket, replication: StateReplication): IResource[] {
    const stack = Stack.of(this);
    const destinationName = replication.bucketName ?? replicaBucketName(stack.account, replication.region);
    // From the name, not `bucket.bucketArn`: the bucket depends on the policy
    // (replication is configured once the role may replicate), so the policy
    // must not depend on the bucket.
    const sourceArn = bucketArn(stack, this.bucketName);
    const destinationArn = bucketArn(stack, destinationName);
    const destinationKeyArn = this.encryptionKey
      ? replication.kmsKeyArn ?? stack.formatArn({ service: 'kms', region: replication.region, resource: REPLICA_KEY_ALIAS })
      : undefined;

    // No fixed name: IAM role names are global to the account, and two
    // replicated backends must not collide. The replica key opens itself to
    // the roles under this path.
    //
    // The role and its policy got new construct IDs when the role lost its
    // fixed name ('ReplicationRole', 'ReplicationPolicy' before): on that
    // update CloudFormation creates the new role with its policy, points the
    // bucket at it, and only then deletes the old policy and role (new
    // resources, not replacements, so the retain policies below do not keep
    // the old role), and replication never runs under a role without
    // permissions.
    const role = new iam.Role(this, 'ReplicationServiceRole', {
      path: REPLICATION_ROLE_PATH,
      assumedBy: new iam.ServicePrincipal('s3.amazonaws.com'),
      description: `Replicates Terraform state from ${this.bucketName} to ${destinationName}`,
    });
    const policy = new iam.ManagedPolicy(this, 'ReplicationPermissions', {
      description: `Replication of Terraform state from ${this.bucketName} to ${destinationName}`,
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'],
          resources: [sourceArn],
        }),
        new iam.PolicyStatement({
          actions: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging'],
          resources: [`${sourceArn}/*`],
        }),
        new iam.PolicyStatement({
          actions: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'],
          resources: [`${destinationArn}/*`],
        }),
        ...(this.encryptionKey ? [new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [this.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.${Aws.URL_SUFFIX}` } },
        })] : []),
      ],
    });
    acknowledgeNagRules(policy, [{
      id: 'AwsSolutions-IAM5',
      reason: 'Replication reads every object version of the state bucket and writes every key of the replica bucket: the object wildcard is exactly the replication scope.',
      appliesTo: [`${sourceArn}/*`, `${destinationArn}/*`].map((arn) => `Resource::${nagFindingText(this, arn)}`),
    }]);

    const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.replicationConfiguration = {
      role: role.roleArn,
      rules: [{
        id: 'ReplicateAllStateVersions',
        status: 'Enabled',
        priority: 1,
        filter: { prefix: '' },
        deleteMarkerReplication: { status: 'Enabled' },
        destination: {
          bucket: destinationArn,
          encryptionConfiguration: destinationKeyArn ? { replicaKmsKeyId: destinationKeyArn } : undefined,
        },
        sourceSelectionCriteria: destinationKeyArn ? { sseKmsEncryptedObjects: { status: 'Enabled' } } : undefined,
      }],
    };
    cfnBucket.node.addDependency(policy);
    return [role, policy];
  }

  /**
   * Terraform sends `x-amz-server-side-encryption: AES256` with `encrypt = true`
   * unless `kms_key_id` is set, and an explicit header beats the bucket's default
   * encryption: without `kms_key_id`, state would be SSE-S3 even in a KMS bucket.
   */
  private kmsKeyIdForTerraform(): string | undefined {
    switch (this.encryption) {
      case StateEncryption.KMS:
        return this.encryptionKey!.keyArn;
      case StateEncryption.KMS_MANAGED:
        return 'alias/aws/s3';
      default:
        return undefined;
    }
  }
}

function bucketEncryption(encryption: StateEncryption, key?: kms.IKey): Partial<s3.BucketProps> {
  switch (encryption) {
    case StateEncryption.KMS:
      return { encryption: s3.BucketEncryption.KMS, encryptionKey: key, bucketKeyEnabled: true };
    case StateEncryption.KMS_MANAGED:
      return { encryption: s3.BucketEncryption.KMS_MANAGED, bucketKeyEnabled: true };
    default:
      return { encryption: s3.BucketEncryption.S3_MANAGED };
  }
}

function validateProps(
  props: TerraformStateBackendProps,
  region: string,
  bucketName: string,
  stateKey: string,
  locking: LockingMode,
  encryption: StateEncryption,
  accessLogs: boolean,
): string[] {
  const faults = [
    ...enumFaults('locking', props.locking, LockingMode),
    ...enumFaults('encryption', props.encryption, StateEncryption),
    ...bucketNameFaults('bucketName', bucketName),
    ...stateKeyFaults('stateKey', stateKey),
  ];
  if (props.lockTableName !== undefined) {
    faults.push(...tableNameFaults('lockTableName', props.lockTableName));
    if (locking === LockingMode.S3_LOCKFILE) {
      faults.push(`\`lockTableName\` is set to ${show(props.lockTableName)}, but \`locking\` is S3_LOCKFILE, which makes no table`);
    }
  }
  if (props.workspaceKeyPrefix !== undefined) {
    faults.push(...workspaceKeyPrefixFaults('workspaceKeyPrefix', props.workspaceKeyPrefix));
  }
  if (props.encryptionKey && encryption !== StateEncryption.KMS) {
    faults.push(`\`encryptionKey\` is set, but \`encryption\` is ${encryption}; a customer-managed key needs StateEncryption.KMS`);
  }
  faults.push(...dataProtectionFaults(props));
  if (!accessLogs && props.serverAccessLogsBucket) {
    faults.push('`serverAccessLogsBucket` is set, but `serverAccessLogs` is false; drop one of them');
  }
  if (props.replication) {
    faults.push(...regionFaults('replication.region', props.replication.region));
    if (!Token.isUnresolved(props.replication.region) && !Token.isUnresolved(region) && props.replication.region === region) {
      faults.push(`\`replication.region\` must differ from the backend's region, got ${show(region)} for both`);
    }
    if (props.replication.bucketName !== undefined) {
      faults.push(...bucketNameFaults('replication.bucketName', props.replication.bucketName));
    }
    if (encryption === StateEncryption.KMS_MANAGED) {
      faults.push('`replication` is set, but `encryption` is KMS_MANAGED, whose aws/s3 key cannot be opened to the replication role; use KMS or S3_MANAGED');
    }
    if (props.replication.kmsKeyArn !== undefined && encryption !== StateEncryption.KMS) {
      faults.push(`\`replication.kmsKeyArn\` is set, but \`encryption\` is ${encryption}; replicas are KMS-encrypted only with StateEncryption.KMS`);
    }
  }
  if (props.organizationId !== undefined) {
    faults.push(...organizationIdFaults('organizationId', props.organizationId));
  }
  if (props.discoveryPrefix !== undefined) {
    faults.push(...discoveryPrefixFaults('discoveryPrefix', props.discoveryPrefix));
    if (props.discovery === false) {
      faults.push(`\`discoveryPrefix\` is set to ${show(props.discoveryPrefix)}, but \`discovery\` is false`);
    }
  }
  if (!accessLogs && props.serverAccessLogsPrefix !== undefined) {
    faults.push(`\`serverAccessLogsPrefix\` is set to ${show(props.serverAccessLogsPrefix)}, but \`serverAccessLogs\` is false`);
  }
  return faults;
}

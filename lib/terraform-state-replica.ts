import { Annotations, Aws, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  deliverAccessLogs,
  denyOutsideOrganization,
  denyOutsideOrganizationOnKey,
  hardenedBucketProps,
  makeAccessLogBucket,
  protectHistory,
  stateLifecycleRules,
} from './bucket-hardening';
import { acknowledgeNagRules } from './nag';
import { replicaBucketName, REPLICA_KEY_ALIAS, replicationRoleArnPatterns } from './replica-names';
import { bucketNameFaults, dataProtectionFaults, enumFaults, organizationIdFaults, throwIfFaults } from './validation';
import { assertAwsCdkLibVersion } from './private/cdk-version';

/**
 * How replicas are encrypted at rest. There is no AWS managed KMS key choice:
 * the `aws/s3` key's policy cannot be opened to the replication role.
 */
export enum ReplicaEncryption {
  /**
   * A new customer-managed key (rotation on, alias
   * `alias/terraform-state-replica`) that the replication roles may encrypt
   * with; serves a backend of either kind.
   */
  KMS = 'KMS',

  /**
   * S3-managed keys (SSE-S3); serves only a backend with
   * `StateEncryption.S3_MANAGED`.
   */
  S3_MANAGED = 'S3_MANAGED',
}

/**
 * Properties of a `TerraformStateReplica`.
 */
export interface TerraformStateReplicaProps {
  /**
   * Name of the replica bucket.
   *
   * @default - `terraform-state-replica-<account>-<region>`, the name a
   * `TerraformStateBackend` with `replication` expects
   */
  readonly bucketName?: string;

  /**
   * How replicas are encrypted: `KMS` for a new customer-managed key (rotation
   * on, alias `alias/terraform-state-replica`, retained) that the replication
   * role may encrypt with, or `S3_MANAGED`.
   *
   * A backend with `StateEncryption.KMS` replicates into the key under
   * `alias/terraform-state-replica`: with `S3_MANAGED` here, there is no such key
   * and replication of its state fails. `S3_MANAGED` suits only a backend that
   * uses `S3_MANAGED` too.
   *
   * @default ReplicaEncryption.KMS, which serves a backend of either kind
   */
  readonly encryption?: ReplicaEncryption;

  /**
   * What happens to the replica bucket, its log bucket and its key when they
   * are removed from the stack or the stack is deleted; their bucket policies
   * and the key's alias follow the same policy.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * How long an old version of a replica is kept; the newest
   * `noncurrentVersionsToRetain` never expire.
   *
   * @default Duration.days(90)
   */
  readonly noncurrentVersionExpiration?: Duration;

  /**
   * How many old versions of each replica are always kept: 1 to 100.
   *
   * @default 10
   */
  readonly noncurrentVersionsToRetain?: number;

  /**
   * Deny `s3:DeleteObjectVersion` on the replica bucket to every principal
   * except `stateHistoryAdmins`.
   *
   * @default true
   */
  readonly protectStateHistory?: boolean;

  /**
   * Principal ARNs that may still delete object versions (`aws:PrincipalArn`).
   *
   * @default - none
   */
  readonly stateHistoryAdmins?: string[];

  /**
   * How long the replica bucket's access logs are kept in its log bucket.
   *
   * @default Duration.days(365)
   */
  readonly serverAccessLogsRetention?: Duration;

  /**
   * The ID of the AWS Organization (`o-...`) whose principals alone may use the
   * replica: the policies of its buckets and key deny every principal outside
   * it (on the key, its use, never its administration, as for the backend).
   * AWS service principals are not affected.
   *
   * @default - no organization boundary
   */
  readonly organizationId?: string;
}

/**
 * The destination of a `TerraformStateBackend`'s `replication`, in another
 * region: a versioned, private, TLS-only bucket (with its own access-log
 * bucket, version lifecycle and history protection) and, with
 * `ReplicaEncryption.KMS` (the default), a key the replication roles may
 * encrypt with.
 *
 * Deploy it before the backend. Its names derive from the account and its
 * region, so the backend refers to it without cross-stack references.
 */
export class TerraformStateReplica extends Construct {
  /**
   * The replica bucket.
   */
  public readonly bucket: s3.IBucket;

  /**
   * The bucket that receives the replica bucket's access logs.
   */
  public readonly logBucket: s3.IBucket;

  /**
   * The key that encrypts replicas; undefined unless `encryption` is `KMS`.
   */
  public readonly encryptionKey?: kms.IKey;

  /**
   * The name of the replica bucket (may be a token).
   */
  public readonly bucketName: string;

  /**
   * @param scope the construct (usually a stack in the replica region)
   * @param id the replica's construct ID
   * @param props the replica's settings; all optional
   */
  constructor(scope: Construct, id: string, props: TerraformStateReplicaProps = {}) {
    super(scope, id);
    assertAwsCdkLibVersion();
    const stack = Stack.of(this);
    const encryption = props.encryption ?? ReplicaEncryption.KMS;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucketName = props.bucketName ?? replicaBucketName(stack.account, stack.region);

    throwIfFaults(this.node.path, [
      ...enumFaults('encryption', props.encryption, ReplicaEncryption),
      ...bucketNameFaults('bucketName', this.bucketName),
      ...dataProtectionFaults(props),
      ...(props.organizationId !== undefined ? organizationIdFaults('organizationId', props.organizationId) : []),
    ]);
    if (removalPolicy === RemovalPolicy.DESTROY) {
      Annotations.of(this).addWarningV2('cdk-terraform-state-backend:replicaRemovalPolicyDestroy',
        'removalPolicy is DESTROY: deleting the stack deletes the replica buckets once they are empty.');
    }

    if (encryption === ReplicaEncryption.KMS) {
      const key = new kms.Key(this, 'ReplicaKey', {
        description: `Encrypts replicated Terraform state in ${this.bucketName}`,
        enableKeyRotation: true,
        removalPolicy,
      });
      // What the `alias` prop would do (same construct ID), keeping the alias to retain it.
      key.addAlias(REPLICA_KEY_ALIAS).applyRemovalPolicy(removalPolicy);
      // The replication roles live in the backends' stacks, deployed after this
      // one: a key policy that named them as principals would be rejected until
      // they exist, so they are matched by their IAM path instead.
      key.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'AllowStateReplicationToEncrypt',
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'aws:PrincipalArn': replicationRoleArnPatterns(stack.account, stack.region) },
          StringEquals: { 'kms:ViaService': `s3.${stack.region}.${Aws.URL_SUFFIX}` },
        },
      }));
      this.encryptionKey = key;
    }

    this.logBucket = makeAccessLogBucket(this, 'AccessLogBucket', removalPolicy, props.serverAccessLogsRetention);
    const bucket = new s3.Bucket(this, 'ReplicaBucket', {
      ...hardenedBucketProps(removalPolicy),
      bucketName: this.bucketName,
      ...(this.encryptionKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: this.encryptionKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      lifecycleRules: stateLifecycleRules(props),
    });
    this.bucket = bucket;
    deliverAccessLogs(bucket, this.bucketName, this.logBucket, 'replica-bucket-access-logs/', 'AllowReplicaBucketAccessLogDelivery');
    if (props.protectStateHistory ?? true) {
      protectHistory(bucket, props.stateHistoryAdmins ?? []);
    }
    if (props.organizationId) {
      denyOutsideOrganization(bucket, props.organizationId);
      denyOutsideOrganization(this.logBucket as s3.Bucket, props.organizationId);
      if (this.encryptionKey) {
        denyOutsideOrganizationOnKey(this.encryptionKey, props.organizationId);
      }
    }
    // The bucket policies (TLS only, history deny, organization boundary) stay
    // with the buckets they protect.
    for (const policy of [bucket.policy, (this.logBucket as s3.Bucket).policy]) {
      policy!.applyRemovalPolicy(removalPolicy);
    }
    acknowledgeNagRules(bucket, [
      { id: 'HIPAA.Security-S3BucketReplicationEnabled', reason: 'This bucket is itself the cross-region replica of the Terraform state bucket.' },
      { id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason: 'This bucket is itself the cross-region replica of the Terraform state bucket.' },
      { id: 'PCI.DSS.321-S3BucketReplicationEnabled', reason: 'This bucket is itself the cross-region replica of the Terraform state bucket.' },
    ]);

    new CfnOutput(this, 'ReplicaBucketName', {
      description: 'The S3 bucket that holds replicas of Terraform state',
      value: bucket.bucketName,
    });
  }
}

import { Annotations, Aws, CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { makeAccessLogBucket, deliverAccessLogs } from './private/access-logs';
import { DEFAULT_REMOVAL_POLICY, REPLICA_ACCESS_LOGS_PREFIX, REPLICA_BUCKET, REPLICATION_DESTINATION } from './private/defaults';
import { applyOrganizationBoundary, protectHistory } from './private/history-and-boundary';
import { acknowledgeNagRules } from './private/nag';
import { REPLICA_KEY_ACTIONS } from './private/perms';
import { claimPhysicalNames } from './private/physical-names';
import { replicaBucketName, replicaKeyAlias, replicationRoleArnPatterns } from './private/replica-names';
import { hardenedBucketProps, stateLifecycleRules } from './private/state-bucket';
import { replicaFaults, reportFaults } from './private/validate';
import { DataProtectionOptions, ReplicaEncryption } from './state-settings';
import { assertAwsCdkLibVersion } from './private/cdk-version';

/**
 * Properties of a `TerraformStateReplica`.
 */
export interface TerraformStateReplicaProps extends DataProtectionOptions {
  /**
   * The name of the state bucket that replicates into this replica (the
   * backend's `bucketName`): the replica bucket is named
   * `<sourceBucketName>-replica`, the name the backend's `replication`
   * derives, so that every backend's replica is its own. Give it literally (or
   * with `Aws.ACCOUNT_ID`, the same in both stacks); a name built from the
   * `AWS::Region` pseudo parameter is refused, since here it would be the
   * replica's region. Give this or `bucketName`.
   *
   * @default - none; then `bucketName` is required
   */
  readonly sourceBucketName?: string;

  /**
   * Name of the replica bucket, when it is not `<sourceBucketName>-replica`:
   * give the backend's `replication.bucketName` the same name. Give this or
   * `sourceBucketName`. Earlier versions named every replica
   * `terraform-state-replica-<account>-<region>`: to keep such a bucket, into
   * which only one backend replicates, give that name here.
   *
   * @default - `<sourceBucketName>-replica`
   */
  readonly bucketName?: string;

  /**
   * How replicas are encrypted: `KMS` for a new customer-managed key (rotation
   * on, alias `alias/<replica bucket name>` with dots made dashes, retained)
   * that the replication roles may encrypt with, or `S3_MANAGED`.
   *
   * A backend with `StateEncryption.KMS` replicates into the key under that
   * alias: with `S3_MANAGED` here, there is no such key and replication of its
   * state fails. `S3_MANAGED` suits only a backend that uses `S3_MANAGED` too.
   *
   * @default ReplicaEncryption.KMS, which serves a backend of either kind
   */
  readonly encryption?: ReplicaEncryption;
}

/**
 * The destination of a `TerraformStateBackend`'s `replication`, in another
 * region: a versioned, private, TLS-only bucket (with its own access-log
 * bucket, version lifecycle and history protection) and, with
 * `ReplicaEncryption.KMS` (the default), a key the replication roles may
 * encrypt with.
 *
 * Deploy it before the backend. One replica serves one backend: its names
 * derive from the backend's bucket name (`sourceBucketName`), as the
 * backend's do, so the backend refers to it without cross-stack references.
 */
export class TerraformStateReplica extends Construct {
  /**
   * The replica bucket.
   */
  public readonly bucket!: s3.IBucket;

  /**
   * The bucket that receives the replica bucket's access logs.
   */
  public readonly logBucket!: s3.IBucket;

  /**
   * The key that encrypts replicas; undefined unless `encryption` is `KMS`.
   */
  public readonly encryptionKey?: kms.IKey;

  /**
   * The name of the replica bucket (may be a token); empty only when neither
   * `bucketName` nor `sourceBucketName` is given (reported as an error).
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
    const removalPolicy = props.removalPolicy ?? DEFAULT_REMOVAL_POLICY;
    this.bucketName = props.bucketName ?? (props.sourceBucketName !== undefined ? replicaBucketName(props.sourceBucketName) : '');

    if (reportFaults(this, replicaFaults(props, stack)) !== undefined) {
      return;
    }
    const keyAlias = replicaKeyAlias(this.bucketName);
    claimPhysicalNames(this, [
      {
        what: REPLICA_BUCKET, prop: 'bucketName', name: this.bucketName, global: true, sharedWith: [REPLICATION_DESTINATION],
        scope: 'bucket names are global, and one replica serves one backend',
      },
      ...(encryption === ReplicaEncryption.KMS
        ? [{ what: 'KMS alias', prop: 'bucketName', name: keyAlias, scope: 'aliases are unique per account and region' }] : []),
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
      key.addAlias(keyAlias).applyRemovalPolicy(removalPolicy);
      // The replication roles live in the backends' stacks, deployed after this
      // one: a key policy that named them as principals would be rejected until
      // they exist, so they are matched by their IAM path instead.
      key.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'AllowStateReplicationToEncrypt',
        principals: [new iam.AnyPrincipal()],
        actions: REPLICA_KEY_ACTIONS,
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
    deliverAccessLogs(bucket, this.bucketName, this.logBucket, REPLICA_ACCESS_LOGS_PREFIX, 'AllowReplicaBucketAccessLogDelivery');
    if (props.protectStateHistory ?? true) {
      protectHistory(bucket, props.stateHistoryAdmins ?? []);
    }
    if (props.organizationId) {
      applyOrganizationBoundary(this, props.organizationId, [bucket, this.logBucket as s3.Bucket], this.encryptionKey);
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

import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeNagRules, NagAcknowledgement } from './nag';

/**
 * Internal: the pieces the state bucket, its replica and their log buckets share.
 */

/** Versioned, all public access blocked, ACLs disabled, TLS 1.2+ only. */
export function hardenedBucketProps(removalPolicy: RemovalPolicy): s3.BucketProps {
  return {
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    removalPolicy,
  };
}

/** Days after which an old version of state expires, unless it is one of the newest. */
export const DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS = 90;

/** Old versions of each state object that never expire. */
export const DEFAULT_NONCURRENT_VERSIONS_TO_RETAIN = 10;

/** Days access logs are kept. */
export const DEFAULT_ACCESS_LOG_RETENTION_DAYS = 365;

/** How long old versions of state are kept; the defaults above apply. */
export interface VersionRetention {
  readonly noncurrentVersionExpiration?: Duration;
  readonly noncurrentVersionsToRetain?: number;
}

/**
 * Noncurrent versions expire after the given time, except the newest N, which
 * are always kept; delete markers left alone (unlocked `.tflock` files) go;
 * incomplete multipart uploads are aborted after 7 days.
 */
export function stateLifecycleRules(retention: VersionRetention): s3.LifecycleRule[] {
  return [{
    id: 'KeepRecentStateVersions',
    noncurrentVersionExpiration: retention.noncurrentVersionExpiration ?? Duration.days(DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS),
    noncurrentVersionsToRetain: retention.noncurrentVersionsToRetain ?? DEFAULT_NONCURRENT_VERSIONS_TO_RETAIN,
    expiredObjectDeleteMarker: true,
    abortIncompleteMultipartUploadAfter: Duration.days(7),
  }];
}

/**
 * A bucket for S3 server access logs: SSE-S3 (S3 delivers access logs only to
 * buckets with SSE-S3 default encryption), hardened, logs expiring after
 * `retention` (default 365 days).
 */
export function makeAccessLogBucket(scope: Construct, id: string, removalPolicy: RemovalPolicy, retention?: Duration): s3.Bucket {
  // cdk-nag finds no fault in a bucket without access logs of its own when it
  // is the access log destination of another bucket in the stack.
  const bucket = new s3.Bucket(scope, id, {
    ...hardenedBucketProps(removalPolicy),
    encryption: s3.BucketEncryption.S3_MANAGED,
    lifecycleRules: [{
      id: 'ExpireAccessLogs',
      expiration: retention ?? Duration.days(DEFAULT_ACCESS_LOG_RETENTION_DAYS),
      noncurrentVersionExpiration: Duration.days(1),
      abortIncompleteMultipartUploadAfter: Duration.days(7),
    }],
  });
  acknowledgeNagRules(bucket, [
    ...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].map((pack): NagAcknowledgement => ({
      id: `${pack}-S3DefaultEncryptionKMS`,
      reason: 'S3 delivers server access logs only to buckets whose default encryption is SSE-S3; SSE-KMS would stop log delivery.',
    })),
    ...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].map((pack): NagAcknowledgement => ({
      id: `${pack}-S3BucketReplicationEnabled`,
      reason: 'Access logs record requests to the state bucket, not state; the state itself is what is versioned and replicated.',
    })),
  ]);
  return bucket;
}

/**
 * Sends `source`'s access logs to `logBucket` under `prefix`, granting the S3
 * logging service through the log bucket's policy.
 *
 * Wired at the CloudFormation level, not through the `serverAccessLogsBucket`
 * prop: without the app-level feature flag
 * `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy` that prop switches the log
 * bucket to the LogDeliveryWrite ACL.
 *
 * The grant is narrowed to the source bucket and account. A log bucket in
 * another stack cannot refer to the source bucket's attributes (that would be a
 * reference cycle), so there the source is named by its literal name, when it
 * has one, and always by its account: S3 delivers access logs only to a bucket
 * of the source bucket's own account, so that is the log bucket's account.
 */
export function deliverAccessLogs(source: s3.Bucket, sourceName: string, logBucket: s3.IBucket, prefix: string, sid: string): void {
  (source.node.defaultChild as s3.CfnBucket).loggingConfiguration = {
    destinationBucketName: logBucket.bucketName,
    logFilePrefix: prefix,
  };
  const sourceStack = Stack.of(source);
  let conditions: Record<string, Record<string, unknown>> | undefined;
  if (Stack.of(logBucket) === sourceStack) {
    conditions = {
      ArnLike: { 'aws:SourceArn': source.bucketArn },
      StringEquals: { 'aws:SourceAccount': sourceStack.account },
    };
  } else {
    conditions = {
      ...(Token.isUnresolved(sourceName) ? {} : { ArnLike: { 'aws:SourceArn': `arn:*:s3:::${sourceName}` } }),
      StringEquals: { 'aws:SourceAccount': Stack.of(logBucket).account },
    };
  }
  logBucket.addToResourcePolicy(new iam.PolicyStatement({
    sid,
    effect: iam.Effect.ALLOW,
    principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
    actions: ['s3:PutObject'],
    resources: [logBucket.arnForObjects(`${prefix}*`)],
    conditions,
  }));
}

/**
 * Denies `s3:DeleteObjectVersion` on every object to every principal except
 * `admins` (matched on `aws:PrincipalArn`). Lifecycle expiry is done by S3
 * itself and is not affected; no bucket-configuration action is denied, so
 * CloudFormation can still update the bucket.
 */
export function protectHistory(bucket: s3.Bucket, admins: string[]): void {
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'DenyStateHistoryDeletion',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['s3:DeleteObjectVersion'],
    resources: [bucket.arnForObjects('*')],
    conditions: admins.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': admins } } : undefined,
  }));
}

/**
 * Denies every request to `bucket` from a principal outside the organization.
 * AWS service principals (S3 log delivery) are exempt; replication runs under a
 * role of the account, which is inside.
 */
export function denyOutsideOrganization(bucket: s3.Bucket, organizationId: string): void {
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'DenyOutsideOrganization',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['s3:*'],
    resources: [bucket.bucketArn, bucket.arnForObjects('*')],
    conditions: {
      StringNotEqualsIfExists: { 'aws:PrincipalOrgID': organizationId },
      BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
    },
  }));
}

/**
 * What the organization boundary denies on a key: the operations that use it
 * to encrypt or decrypt (and so read or write state), and `kms:CreateGrant`,
 * which would hand that use to others. Never the key's administration
 * (`kms:PutKeyPolicy`, rotation, deletion, tags, aliases, `kms:DescribeKey`,
 * which returns metadata only): after the account moves to another
 * organization, its principals are all "outside", and they must still be able
 * to manage the key and lift the boundary.
 */
export const KEY_USE_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant'];

/**
 * Denies the use of `key` (`KEY_USE_ACTIONS`) to principals outside the
 * organization; AWS service principals are exempt.
 */
export function denyOutsideOrganizationOnKey(key: kms.IKey, organizationId: string): void {
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'DenyOutsideOrganization',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: KEY_USE_ACTIONS,
    resources: ['*'],
    conditions: {
      StringNotEqualsIfExists: { 'aws:PrincipalOrgID': organizationId },
      BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
    },
  }));
}

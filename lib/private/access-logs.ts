import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULT_ACCESS_LOG_RETENTION_DAYS, INCOMPLETE_UPLOAD_DAYS } from './defaults';
import { acknowledgeNagRules, NagAcknowledgement } from './nag';
import { hardenedBucketProps } from './state-bucket';

/**
 * Internal: the access-log bucket of a state (or replica) bucket, and the
 * delivery of the logs into it.
 */

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
      abortIncompleteMultipartUploadAfter: Duration.days(INCOMPLETE_UPLOAD_DAYS),
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

import { Duration, IResource, RemovalPolicy } from 'aws-cdk-lib/core';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LockFileTag, StateEncryption } from '../state-settings';
import { DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS, DEFAULT_NONCURRENT_VERSIONS_TO_RETAIN, INCOMPLETE_UPLOAD_DAYS, stateKeyAlias } from './defaults';

/**
 * Internal: the state bucket (and its replica's) settings, and the key that
 * encrypts state.
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

/** How long old versions of state are kept; the defaults apply. */
export interface VersionRetention {
  readonly noncurrentVersionExpiration?: Duration;
  readonly noncurrentVersionsToRetain?: number;
  readonly lockFileTag?: LockFileTag;
}

/**
 * Noncurrent versions expire after the given time, except the newest N, which
 * are always kept; incomplete multipart uploads are aborted after 7 days; an
 * expired object delete marker goes.
 *
 * S3 removes an expired object delete marker only when no noncurrent version
 * of its object remains. A lock file (`<state path>.tflock`) gets a version
 * and a delete marker on every locked run, and this rule keeps the newest N of
 * its versions for good: those versions and its last delete marker stay, and
 * every other version and marker stays `noncurrentVersionExpiration` long.
 * Lifecycle filters take prefixes and tags, not suffixes (Terraform issue
 * #36445). With `lockFileTag` (OpenTofu's `lock_tags`), a second rule expires
 * the tagged lock-file versions a day after they become noncurrent (of two
 * overlapping expirations S3 applies the shorter); it cannot remove delete
 * markers (they carry no tags, and a rule with a tag filter may not use
 * `ExpiredObjectDeleteMarker` or `AbortIncompleteMultipartUpload`).
 */
export function stateLifecycleRules(retention: VersionRetention): s3.LifecycleRule[] {
  const rules: s3.LifecycleRule[] = [{
    id: 'KeepRecentStateVersions',
    noncurrentVersionExpiration: retention.noncurrentVersionExpiration ?? Duration.days(DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS),
    noncurrentVersionsToRetain: retention.noncurrentVersionsToRetain ?? DEFAULT_NONCURRENT_VERSIONS_TO_RETAIN,
    expiredObjectDeleteMarker: true,
    abortIncompleteMultipartUploadAfter: Duration.days(INCOMPLETE_UPLOAD_DAYS),
  }];
  if (retention.lockFileTag) {
    rules.push({
      id: 'ExpireTaggedLockFileVersions',
      tagFilters: { [retention.lockFileTag.key]: retention.lockFileTag.value },
      noncurrentVersionExpiration: Duration.days(1),
    });
  }
  return rules;
}

/** A key made for state, and its alias (which must follow the key's removal policy). */
export interface MadeStateKey {
  readonly key: kms.IKey;
  readonly aliasName: string;
  readonly alias: IResource;
}

/**
 * A new customer-managed key for the state bucket `bucketName` and its lock
 * table: rotation on, alias `alias/<bucket name>` (dots made dashes).
 */
export function makeStateKey(scope: Construct, bucketName: string, removalPolicy: RemovalPolicy): MadeStateKey {
  const aliasName = stateKeyAlias(bucketName);
  const key = new kms.Key(scope, 'StateKey', {
    description: `Encrypts Terraform state in ${bucketName} and its lock table`,
    enableKeyRotation: true,
    removalPolicy,
  });
  // What the `alias` prop would do (same construct ID), keeping the alias to retain it.
  return { key, aliasName, alias: key.addAlias(aliasName) };
}

/** The state bucket: hardened, encrypted as asked, old versions kept as asked. */
export function makeStateBucket(
  scope: Construct, bucketName: string, encryption: StateEncryption, key: kms.IKey | undefined,
  removalPolicy: RemovalPolicy, retention: VersionRetention,
): s3.Bucket {
  return new s3.Bucket(scope, 'StateBucket', {
    ...hardenedBucketProps(removalPolicy),
    bucketName,
    ...bucketEncryption(encryption, key),
    lifecycleRules: stateLifecycleRules(retention),
  });
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

/**
 * Internal: the IAM actions Terraform's `s3` backend needs, by what they do
 * (see TERRAFORM-S3-BACKEND.md), and the actions the constructs' own policies use.
 */

/** Finds workspaces, and lets a missing state key answer 404 rather than 403. */
export const BUCKET_LIST_ACTIONS = ['s3:ListBucket'];

/** Reads and writes a state object. */
export const STATE_READ_WRITE_ACTIONS = ['s3:GetObject', 's3:PutObject'];

/** Reads a state object. */
export const STATE_READ_ACTIONS = ['s3:GetObject'];

/** `terraform workspace delete` deletes the workspace's state object. */
export const WORKSPACE_DELETE_ACTIONS = ['s3:DeleteObject'];

/** Takes, reads and releases a `<state path>.tflock` lock file. */
export const LOCK_FILE_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'];

/** Takes, reads and releases a lock item, and writes and reads the digest item. */
export const LOCK_TABLE_READ_WRITE_ACTIONS = ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'];

/** Reads the digest item that Terraform checks state against. */
export const LOCK_TABLE_READ_ACTIONS = ['dynamodb:GetItem'];

/**
 * Takes, reads and releases a lock item, and nothing else: on the lock items only,
 * never on the digest items (a `terraform plan` writes no digest).
 * `dynamodb:DescribeTable` because Terraform documents it (Terraform 1.11 does not call it).
 */
export const LOCK_ITEM_ACTIONS = ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'];

/** Encrypts and decrypts state with a customer-managed key. */
export const KEY_READ_WRITE_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'];

/** Decrypts state with a customer-managed key. */
export const KEY_READ_ACTIONS = ['kms:Decrypt'];

/**
 * Decrypts state and lock files, and encrypts the lock files a plan writes: S3 calls
 * `kms:GenerateDataKey` for each SSE-KMS `PutObject` and `kms:Decrypt` for each read,
 * on the caller's behalf. What stops a plan writing state is S3's permissions, not the key's.
 */
export const KEY_LOCK_FILE_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

/** Reads the discovery parameters. */
export const DISCOVERY_READ_ACTIONS = ['ssm:GetParameter', 'ssm:GetParameters'];

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
 * The administration of a bucket's own configuration, which the organization
 * boundary leaves to the bucket's account: its policy, and every setting
 * CloudFormation reads and writes when it creates, updates or rolls back a
 * bucket (versioning, encryption, lifecycle, logging, replication, public
 * access block, ownership controls, tags, ...). IAM names these
 * `s3:GetBucket*`, `s3:PutBucket*`, `s3:DeleteBucketPolicy`,
 * `s3:DeleteBucketWebsite` and `s3:Get`/`Put`/`Delete<Something>Configuration`
 * (`PutEncryptionConfiguration`, `PutLifecycleConfiguration`,
 * `PutReplicationConfiguration`, ...; removing a configuration is mostly its
 * `Put...` action). Checked against the 168 S3 actions cfn-lint 1.51 knows:
 * these patterns match 51, all of them bucket (or Storage Lens)
 * configuration; not `s3:DeleteBucket` itself, nor any action on objects,
 * their versions, their tags or the bucket's listing.
 */
export const BUCKET_ADMINISTRATION_ACTIONS = ['s3:GetBucket*', 's3:PutBucket*', 's3:DeleteBucketPolicy', 's3:DeleteBucketWebsite',
  's3:Get*Configuration', 's3:Put*Configuration', 's3:Delete*Configuration'];

/** What the replication role reads on the source bucket. */
export const REPLICATION_SOURCE_BUCKET_ACTIONS = ['s3:GetReplicationConfiguration', 's3:ListBucket'];

/** What the replication role reads of each source object version. */
export const REPLICATION_SOURCE_OBJECT_ACTIONS = ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging'];

/** What the replication role writes into the replica bucket. */
export const REPLICATION_DESTINATION_ACTIONS = ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'];

/** What the replication roles may do with the replica key. */
export const REPLICA_KEY_ACTIONS = ['kms:Encrypt', 'kms:GenerateDataKey'];

import { Aws } from 'aws-cdk-lib/core';
import { stateKeyAlias } from './defaults';

/**
 * Internal: the names a backend and its replica both derive, so that neither
 * needs a cross-stack reference to the other. Each derives from the source
 * (state) bucket's name, which is global, so every backend's replica is its
 * own: a replica shared by two backends would mix their state (the same keys
 * overwrite each other, a delete marker of one hides the other's object, and
 * the version lifecycle counts the versions of both).
 */

/** The replica bucket's default name, from the name of the bucket that replicates into it. */
export function replicaBucketName(sourceBucketName: string): string {
  return `${sourceBucketName}-replica`;
}

/**
 * The alias of the replica key, from the replica bucket's name (`alias/<name>`,
 * dots made dashes): unique per replica, and the backend finds the key by it in
 * the replica region.
 */
export function replicaKeyAlias(replicaBucket: string): string {
  return stateKeyAlias(replicaBucket);
}

/**
 * The IAM path of the replication roles. CloudFormation names each role (IAM
 * names are global to the account, so a fixed name would collide between two
 * replicated backends); the replica key opens itself to the roles under this
 * path.
 */
export const REPLICATION_ROLE_PATH = '/terraform-state-replication/';

/**
 * The `aws:PrincipalArn` patterns of the roles that may replicate into a
 * replica in `replicaRegion` of `account`: every role under
 * `REPLICATION_ROLE_PATH`, and the fixed names earlier versions gave the roles
 * (`terraform-state-replication-<source region>-to-<replica region>`), so that
 * replication does not stop between the update of the replica stack and that
 * of the backend stack, which replaces its role.
 */
export function replicationRoleArnPatterns(account: string, replicaRegion: string): string[] {
  const roles = `arn:${Aws.PARTITION}:iam::${account}:role`;
  return [`${roles}${REPLICATION_ROLE_PATH}*`, `${roles}/terraform-state-replication-*-to-${replicaRegion}`];
}

import { Aws } from 'aws-cdk-lib';

/**
 * Internal: the names a backend and its replica both derive, so that neither
 * needs a cross-stack reference to the other.
 */

/** The alias of the replica key; the backend finds the key by it in the replica region. */
export const REPLICA_KEY_ALIAS = 'alias/terraform-state-replica';

/** The replica bucket's default name: the backend derives the same name. */
export function replicaBucketName(account: string, region: string): string {
  return `terraform-state-replica-${account}-${region}`;
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

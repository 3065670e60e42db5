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
 * The replication role's name (IAM names are global to the account, so it names
 * both regions): the replica key opens itself to these roles by name.
 */
export function replicationRoleName(sourceRegion: string, replicaRegion: string): string {
  return `terraform-state-replication-${sourceRegion}-to-${replicaRegion}`;
}

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

/** The replication role's name: the replica key opens itself to this role by name. */
export function replicationRoleName(replicaRegion: string): string {
  return `terraform-state-replication-to-${replicaRegion}`;
}

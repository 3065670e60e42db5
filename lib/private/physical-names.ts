import { Annotations, Stack } from 'aws-cdk-lib/core';
import { IConstruct } from 'constructs';

/**
 * Internal: the fixed physical names the backends and replicas of one app
 * claim, so that two of them that would collide when deployed (a second
 * bucket, table, parameter or alias of the same name in one account and
 * region, or two backends replicating into one bucket) are refused at synth
 * time, naming both and the prop to change.
 *
 * Names are compared as the template will hold them: resolved, with the
 * account and region of their stack. In environment-agnostic stacks these are
 * the same pseudo parameters, so such stacks are taken to share an account and
 * region (they may be deployed to one). Bucket names are global: every kind of
 * bucket name (a state bucket, a replica bucket, a replication destination)
 * is compared with every other.
 */

/** A name a backend or replica claims, and what to say about it. */
export interface ClaimedName {
  /** What is named, e.g. "lock table". */
  readonly what: string;
  /** The prop that sets the name. */
  readonly prop: string;
  /** The name (may hold tokens). */
  readonly name: string;
  /** Why names of this kind collide, e.g. "table names are unique per account and region". */
  readonly scope: string;
  /** Bucket names are global: compared without account and region, across kinds. */
  readonly global?: boolean;
  /**
   * The other kinds that may hold the same name: a replication destination is
   * meant to be the replica bucket of that name.
   */
  readonly sharedWith?: string[];
}

interface Holder {
  readonly path: string;
  readonly what: string;
  readonly prop: string;
  readonly sharedWith: string[];
}

const CLAIMS = new WeakMap<IConstruct, Map<string, Holder[]>>();

/**
 * Claims `names` for `owner` in its app; each name another construct of the
 * app already claimed is reported as an error annotation on `owner`.
 */
export function claimPhysicalNames(owner: IConstruct, names: ClaimedName[]): void {
  const stack = Stack.of(owner);
  const root = owner.node.root;
  const claims = CLAIMS.get(root) ?? new Map<string, Holder[]>();
  CLAIMS.set(root, claims);
  const text = (value: string) => JSON.stringify(stack.resolve(value));
  for (const claim of names) {
    const key = claim.global ? `bucket:${text(claim.name)}` : `${claim.what}:${text(stack.account)}:${text(stack.region)}:${text(claim.name)}`;
    const holders = claims.get(key) ?? [];
    claims.set(key, holders);
    const sharedWith = claim.sharedWith ?? [];
    const holder = holders.find((h) => h.what === claim.what || !(sharedWith.includes(h.what) && h.sharedWith.includes(claim.what)));
    holders.push({ path: owner.node.path, what: claim.what, prop: claim.prop, sharedWith });
    if (holder === undefined) {
      continue;
    }
    const name = JSON.stringify(stack.resolve(claim.name));
    const where = claim.global ? '' : ' in the same account and region';
    Annotations.of(owner).addError(holder.what === claim.what
      ? `\`${claim.prop}\`: ${owner.node.path} and ${holder.path} would both have the ${claim.what} ${name}${where}; ` +
      `${claim.scope}: give one of them another \`${claim.prop}\``
      : `\`${claim.prop}\`: the ${claim.what} of ${owner.node.path} would be ${name}, the ${holder.what} of ${holder.path}; ` +
        `${claim.scope}: give ${owner.node.path} another \`${claim.prop}\`, or ${holder.path} another \`${holder.prop}\``);
  }
}

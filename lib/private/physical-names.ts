import { Annotations, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Internal: the fixed physical names the backends of one app claim, so that
 * two backends that would collide when deployed (a second bucket, table,
 * parameter or alias of the same name in one account and region) are refused
 * at synth time, naming both and the prop to change.
 *
 * Names are compared as the template will hold them: resolved, with the
 * account and region of their stack. In environment-agnostic stacks these are
 * the same pseudo parameters, so such stacks are taken to share an account and
 * region (they may be deployed to one).
 */

/** A name a backend claims, and what to say about it. */
export interface ClaimedName {
  /** What is named, e.g. "lock table". */
  readonly what: string;
  /** The prop that sets the name. */
  readonly prop: string;
  /** The name (may hold tokens). */
  readonly name: string;
  /** Why names of this kind collide, e.g. "table names are unique per account and region". */
  readonly scope: string;
  /** Bucket names are global: compared without account and region. */
  readonly global?: boolean;
}

const CLAIMS = new WeakMap<IConstruct, Map<string, string>>();

/**
 * Claims `names` for `owner` in its app; each name another construct of the
 * app already claimed is reported as an error annotation on `owner`.
 */
export function claimPhysicalNames(owner: IConstruct, names: ClaimedName[]): void {
  const stack = Stack.of(owner);
  const root = owner.node.root;
  const claims = CLAIMS.get(root) ?? new Map<string, string>();
  CLAIMS.set(root, claims);
  const text = (value: string) => JSON.stringify(stack.resolve(value));
  for (const claim of names) {
    const place = claim.global ? '' : `${text(stack.account)}:${text(stack.region)}:`;
    const key = `${claim.what}:${place}${text(claim.name)}`;
    const holder = claims.get(key);
    if (holder === undefined) {
      claims.set(key, owner.node.path);
      continue;
    }
    Annotations.of(owner).addError(`\`${claim.prop}\`: ${owner.node.path} and ${holder} would both have the ${claim.what} ` +
      `${JSON.stringify(stack.resolve(claim.name))}${claim.global ? '' : ' in the same account and region'}; ` +
      `${claim.scope}: give one of them another \`${claim.prop}\``);
  }
}

import { Stack, Token, TokenComparison } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Internal: how far a grant to a principal can reach beyond the account of the
 * backend (the account of the stack that holds it, or an imported backend's),
 * as far as synth time can tell.
 */
export interface PrincipalReach {
  /**
   * The principal is `*` without a condition: anyone, in any account or none.
   */
  readonly anyone: boolean;

  /**
   * How the principal may act from outside the stack's account, as the end of
   * a sentence that starts "the grantee ...": `is in account 222222222222`, or
   * `may act from outside this stack's account (...)`. Undefined when every
   * part of the principal is in the stack's account, or cannot be told apart
   * from it (unresolved accounts are not judged).
   */
  readonly outside?: string;
}

/** The key `StarPrincipal` uses for its literal `"Principal": "*"`. */
const LITERAL_PRINCIPAL_KEY = 'LiteralString';

/**
 * Judges a principal conservatively, from its policy fragment (what a
 * resource policy would say) and its `principalAccount`:
 *
 * - `*` (`AnyPrincipal`, `StarPrincipal`, `ArnPrincipal('*')`) with no
 *   condition is anyone;
 * - `*` with conditions (`OrganizationPrincipal` and the like), service
 *   principals (a service acts for whichever account calls it, whatever the
 *   conditions say), federated and canonical-user principals reach beyond
 *   the account;
 * - account IDs and IAM ARNs are compared with the stack's account; a known
 *   account that differs is outside, an unresolved one is not judged.
 */
export function principalReach(stack: Stack, principal: iam.IPrincipal, account: string = stack.account): PrincipalReach {
  const fragment = principal.policyFragment;
  const conditionKeys = [...new Set(Object.values(fragment.conditions ?? {})
    .flatMap((condition) => (condition && typeof condition === 'object' ? Object.keys(condition) : [])))];
  const beyond: string[] = [];
  const accounts = principal.principalAccount !== undefined ? [principal.principalAccount] : [];
  for (const [kind, values] of Object.entries(fragment.principalJson)) {
    for (const value of values) {
      if (kind === 'AWS' || kind === LITERAL_PRINCIPAL_KEY) {
        if (value === '*') {
          if (conditionKeys.length === 0) {
            return { anyone: true };
          }
          beyond.push(`any principal that meets its conditions on ${conditionKeys.join(', ')}`);
        } else if (principal.principalAccount === undefined) {
          accounts.push(...accountsIn(stack, value));
        }
      } else if (kind === 'Service') {
        beyond.push(`the service principal ${display(stack, value)}, which acts for any account that calls it`);
      } else if (kind === 'Federated') {
        beyond.push(`the federated principal ${display(stack, value)}`);
      } else {
        beyond.push(`the ${kind} principal ${display(stack, value)}`);
      }
    }
  }
  const foreign = accounts.find((a) => Token.compareStrings(a, account) === TokenComparison.DIFFERENT);
  if (foreign !== undefined) {
    return { anyone: false, outside: `is in account ${foreign}` };
  }
  if (beyond.length > 0) {
    return { anyone: false, outside: `may act from outside this stack's account (${beyond.join('; ')})` };
  }
  return { anyone: false };
}

/**
 * The literal account IDs in an `AWS` principal value (an account ID or an IAM
 * or STS ARN, possibly a token such as an `AccountPrincipal`'s ARN with a
 * `${AWS::Partition}` reference).
 */
function accountsIn(stack: Stack, value: string): string[] {
  if (/^\d{12}$/.test(value)) {
    return [value];
  }
  const text = Token.isUnresolved(value) ? JSON.stringify(stack.resolve(value)) : value;
  return [...text.matchAll(/:(?:iam|sts)::(\d{12}):/g)].map((m) => m[1]);
}

/** A principal value for a message: tokens (such as a service principal's name) resolved. */
function display(stack: Stack, value: string): string {
  if (!Token.isUnresolved(value)) {
    return value;
  }
  const resolved = stack.resolve(value);
  return typeof resolved === 'string' ? resolved : JSON.stringify(resolved);
}

import { CfnCondition, Fn, Stack, Token } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ConditionalPolicyStatement } from './conditional-statement';
import { BUCKET_ADMINISTRATION_ACTIONS, KEY_USE_ACTIONS } from './perms';

/**
 * Internal: the deny statements that protect state history and keep state
 * inside an organization.
 */

/**
 * Denies `s3:DeleteObjectVersion` on every object but Terraform's lock files
 * (keys ending `.tflock`, in any prefix) to every principal except `admins`
 * (matched on `aws:PrincipalArn`). A lock file's old versions are not state (the
 * digest is in the lock table), and `tfstate-ops prune-locks` deletes them with
 * an ordinary grant of `s3:DeleteObjectVersion` (Terraform issue #36445: no lifecycle
 * filter picks them out). Lifecycle expiry is done by S3 itself and is not
 * affected; no bucket-configuration action is denied, so CloudFormation can
 * still update the bucket.
 */
export function protectHistory(bucket: s3.Bucket, admins: string[]): void {
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'DenyStateHistoryDeletion',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['s3:DeleteObjectVersion'],
    // NotResource: `*` in an ARN matches across `/`, so this spares `<any prefix>/<key>.tflock` only.
    notResources: [bucket.arnForObjects('*.tflock')],
    conditions: admins.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': admins } } : undefined,
  }));
}

/**
 * Puts the organization boundary on the buckets and the key this construct
 * made (never on given ones, whose policies are not this construct's).
 *
 * An unresolved `organizationId` (a CloudFormation parameter) may resolve to
 * an empty string, which means no boundary: the statements are then under the
 * condition `OrganizationBoundary` (made in `scope`), so that one template
 * serves organizations and accounts without one.
 */
export function applyOrganizationBoundary(scope: Construct, organizationId: string, buckets: s3.Bucket[], key?: kms.IKey): void {
  const when = Token.isUnresolved(organizationId)
    ? new CfnCondition(scope, 'OrganizationBoundary', { expression: Fn.conditionNot(Fn.conditionEquals(organizationId, '')) })
    : undefined;
  for (const bucket of buckets) {
    denyOutsideOrganization(bucket, organizationId, when);
  }
  if (key) {
    denyOutsideOrganizationOnKey(key, organizationId, when);
  }
}

/** A statement, under `when` if given. */
function statement(when: CfnCondition | undefined, props: iam.PolicyStatementProps): iam.PolicyStatement {
  return when ? new ConditionalPolicyStatement(when, props) : new iam.PolicyStatement(props);
}

/** AWS service principals (S3 log delivery, replication through S3) are exempt. */
function outsideOrganization(organizationId: string): Record<string, Record<string, string>> {
  return {
    StringNotEqualsIfExists: { 'aws:PrincipalOrgID': organizationId },
    BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
  };
}

/**
 * Denies principals outside the organization every request to `bucket` and its
 * objects except the administration of the bucket's configuration
 * (`BUCKET_ADMINISTRATION_ACTIONS`), and denies them that too unless they are
 * of the bucket's own account. So every read, write, listing and deletion of
 * objects and versions stays denied outside the organization (a data action S3
 * adds later too: `NotAction`), while after a move to another organization, or
 * with a wrong `organizationId`, the account's own principals (CloudFormation's
 * role among them) can still update, roll back and lift the policy; before,
 * `s3:*` denied them `PutBucketPolicy` and only the root user could.
 * AWS service principals (S3 log delivery) are exempt; replication runs under a
 * role of the account, which is inside.
 */
function denyOutsideOrganization(bucket: s3.Bucket, organizationId: string, when?: CfnCondition): void {
  const outside = outsideOrganization(organizationId);
  bucket.addToResourcePolicy(statement(when, {
    sid: 'DenyOutsideOrganization',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    notActions: BUCKET_ADMINISTRATION_ACTIONS,
    resources: [bucket.bucketArn, bucket.arnForObjects('*')],
    conditions: outside,
  }));
  bucket.addToResourcePolicy(statement(when, {
    sid: 'DenyBucketAdministrationOutsideOrganizationAndAccount',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: BUCKET_ADMINISTRATION_ACTIONS,
    resources: [bucket.bucketArn],
    conditions: { ...outside, StringNotEquals: { 'aws:PrincipalAccount': Stack.of(bucket).account } },
  }));
}

/**
 * Denies the use of `key` (`KEY_USE_ACTIONS`) to principals outside the
 * organization; AWS service principals are exempt.
 */
function denyOutsideOrganizationOnKey(key: kms.IKey, organizationId: string, when?: CfnCondition): void {
  key.addToResourcePolicy(statement(when, {
    sid: 'DenyOutsideOrganization',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: KEY_USE_ACTIONS,
    resources: ['*'],
    conditions: outsideOrganization(organizationId),
  }));
}

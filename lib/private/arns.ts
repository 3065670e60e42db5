import { Stack } from 'aws-cdk-lib/core';

/** The account and region a backend lives in, when not the stack's own (an imported backend). */
export interface Place {
  readonly account: string;
  readonly region: string;
}

/**
 * Internal: the ARNs grants and policies need, built from names, never from a
 * resource's attributes. A grant to a principal in another stack puts the ARN
 * into that stack's policy, where an attribute of this stack's resources would
 * be a cross-stack reference: an export that freezes the backend stack, which
 * is meant to live for years.
 *
 * The partition, and the account and region of an environment-agnostic stack,
 * are pseudo parameters, which resolve in the stack whose template holds the
 * ARN: the grantee's stack, for a grant into another stack.
 */

/** `arn:<partition>:s3:::<bucket>` */
export function bucketArn(stack: Stack, bucketName: string): string {
  return stack.formatArn({ service: 's3', region: '', account: '', resource: bucketName });
}

/** `arn:<partition>:s3:::<bucket>/<key>`; the key may be an IAM pattern. */
export function objectArn(stack: Stack, bucketName: string, key: string): string {
  return `${bucketArn(stack, bucketName)}/${key}`;
}

/** `arn:<partition>:dynamodb:<region>:<account>:table/<table>` */
export function tableArn(stack: Stack, tableName: string, place?: Place): string {
  return stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: tableName, ...place });
}

/** `arn:<partition>:ssm:<region>:<account>:parameter/<path>` of a parameter named `/<path>`. */
export function parameterArn(stack: Stack, parameterName: string, place?: Place): string {
  return stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: parameterName.replace(/^\//, ''), ...place });
}

/**
 * `arn:<partition>:kms:<region>:<account>:key/*`: every key of the stack's
 * account and region, for a statement that names its key by a condition
 * (`kms:ResourceAliases`) because the key's ID is not known to another stack.
 */
export function keysArn(stack: Stack, place?: Place): string {
  return stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*', ...place });
}

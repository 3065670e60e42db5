import { Aws, CfnRule, Fn, IResource, Stack, Token } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { bucketArn } from './arns';
import { acknowledgeNagRules, nagFindingText } from './nag';
import { REPLICATION_DESTINATION_ACTIONS, REPLICATION_SOURCE_BUCKET_ACTIONS, REPLICATION_SOURCE_OBJECT_ACTIONS } from './perms';
import { replicaBucketName, replicaKeyAlias, REPLICATION_ROLE_PATH } from './replica-names';

/** Internal: where replication goes (the public `StateReplication`'s fields). */
export interface ReplicationTarget {
  readonly region: string;
  readonly bucketName?: string;
  readonly kmsKeyArn?: string;
}

/** The replica bucket of the state bucket `bucketName`: given, or `<bucketName>-replica`. */
export function replicationDestination(bucketName: string, replication: ReplicationTarget): string {
  return replication.bucketName ?? replicaBucketName(bucketName);
}

/**
 * Replicates every object version and delete marker of `bucket` (named
 * `bucketName`) to the replica bucket, through a role that may do exactly
 * that; returns the role and its policy.
 *
 * In a stack whose region is not known at synth time, a template rule refuses
 * a deploy into the replica's own region: replication within one region would
 * not survive the loss of that region, and nothing else would say so.
 */
export function replicateState(
  scope: Construct, bucket: s3.Bucket, bucketName: string, key: kms.IKey | undefined, replication: ReplicationTarget,
): IResource[] {
  const stack = Stack.of(scope);
  if (Token.isUnresolved(stack.region)) {
    const region = Token.isUnresolved(replication.region) ? '' : ` ${replication.region}`;
    new CfnRule(scope, 'ReplicationRegionRule', {
      assertions: [{
        assert: Fn.conditionNot(Fn.conditionEquals(Aws.REGION, replication.region)),
        assertDescription: `The replica region${region} (replication.region; replicaRegion in the bootstrap app) is the region this ` +
          'stack is being deployed to: replication within one region does not survive the loss of that region. ' +
          'Deploy the stack to another region, or replicate to another region.',
      }],
    });
  }
  const destinationName = replicationDestination(bucketName, replication);
  // From the name, not `bucket.bucketArn`: the bucket depends on the policy
  // (replication is configured once the role may replicate), so the policy
  // must not depend on the bucket.
  const sourceArn = bucketArn(stack, bucketName);
  const destinationArn = bucketArn(stack, destinationName);
  const destinationKeyArn = key
    ? replication.kmsKeyArn ?? stack.formatArn({ service: 'kms', region: replication.region, resource: replicaKeyAlias(destinationName) })
    : undefined;

  // No fixed name: IAM role names are global to the account, and two
  // replicated backends must not collide. The replica key opens itself to
  // the roles under this path.
  //
  // The role and its policy got new construct IDs when the role lost its
  // fixed name ('ReplicationRole', 'ReplicationPolicy' before): on that
  // update CloudFormation creates the new role with its policy, points the
  // bucket at it, and only then deletes the old policy and role (new
  // resources, not replacements, so the retain policies do not keep the old
  // role), and replication never runs under a role without permissions.
  const role = new iam.Role(scope, 'ReplicationServiceRole', {
    path: REPLICATION_ROLE_PATH,
    assumedBy: new iam.ServicePrincipal('s3.amazonaws.com'),
    description: `Replicates Terraform state from ${bucketName} to ${destinationName}`,
  });
  // A managed policy's description cannot change in place (CloudFormation
  // replaces the policy, and RETAIN keeps the old one attached): it names only
  // the source, which never changes for a backend.
  const policy = new iam.ManagedPolicy(scope, 'ReplicationPermissions', {
    description: `Replication of Terraform state from ${bucketName} to its replica`,
    roles: [role],
    statements: [
      new iam.PolicyStatement({ actions: REPLICATION_SOURCE_BUCKET_ACTIONS, resources: [sourceArn] }),
      new iam.PolicyStatement({ actions: REPLICATION_SOURCE_OBJECT_ACTIONS, resources: [`${sourceArn}/*`] }),
      new iam.PolicyStatement({ actions: REPLICATION_DESTINATION_ACTIONS, resources: [`${destinationArn}/*`] }),
      ...(key ? [new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.${Aws.URL_SUFFIX}` } },
      })] : []),
    ],
  });
  acknowledgeNagRules(policy, [{
    id: 'AwsSolutions-IAM5',
    reason: 'Replication reads every object version of the state bucket and writes every key of the replica bucket: the object wildcard is exactly the replication scope.',
    appliesTo: [`${sourceArn}/*`, `${destinationArn}/*`].map((arn) => `Resource::${nagFindingText(scope, arn)}`),
  }]);

  const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
  cfnBucket.replicationConfiguration = {
    role: role.roleArn,
    rules: [{
      id: 'ReplicateAllStateVersions',
      status: 'Enabled',
      priority: 1,
      filter: { prefix: '' },
      deleteMarkerReplication: { status: 'Enabled' },
      destination: {
        bucket: destinationArn,
        encryptionConfiguration: destinationKeyArn ? { replicaKmsKeyId: destinationKeyArn } : undefined,
      },
      sourceSelectionCriteria: destinationKeyArn ? { sseKmsEncryptedObjects: { status: 'Enabled' } } : undefined,
    }],
  };
  cfnBucket.node.addDependency(policy);
  return [role, policy];
}

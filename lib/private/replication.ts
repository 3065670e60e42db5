import { Aws, IResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { bucketArn } from './arns';
import { acknowledgeNagRules, nagFindingText } from './nag';
import { REPLICATION_DESTINATION_ACTIONS, REPLICATION_SOURCE_BUCKET_ACTIONS, REPLICATION_SOURCE_OBJECT_ACTIONS } from './perms';
import { replicaBucketName, REPLICA_KEY_ALIAS, REPLICATION_ROLE_PATH } from './replica-names';

/** Internal: where replication goes (the public `StateReplication`'s fields). */
export interface ReplicationTarget {
  readonly region: string;
  readonly bucketName?: string;
  readonly kmsKeyArn?: string;
}

/**
 * Replicates every object version and delete marker of `bucket` (named
 * `bucketName`) to the replica bucket, through a role that may do exactly
 * that; returns the role and its policy.
 */
export function replicateState(
  scope: Construct, bucket: s3.Bucket, bucketName: string, key: kms.IKey | undefined, replication: ReplicationTarget,
): IResource[] {
  const stack = Stack.of(scope);
  const destinationName = replication.bucketName ?? replicaBucketName(stack.account, replication.region);
  // From the name, not `bucket.bucketArn`: the bucket depends on the policy
  // (replication is configured once the role may replicate), so the policy
  // must not depend on the bucket.
  const sourceArn = bucketArn(stack, bucketName);
  const destinationArn = bucketArn(stack, destinationName);
  const destinationKeyArn = key
    ? replication.kmsKeyArn ?? stack.formatArn({ service: 'kms', region: replication.region, resource: REPLICA_KEY_ALIAS })
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
  const policy = new iam.ManagedPolicy(scope, 'ReplicationPermissions', {
    description: `Replication of Terraform state from ${bucketName} to ${destinationName}`,
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

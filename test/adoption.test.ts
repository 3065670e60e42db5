/**
 * Adopting a backend made by hand (README: "Adopting a backend made by hand"):
 * what CloudFormation needs from the template to import an existing state
 * bucket and lock table, with `cdk deploy --import-existing-resources`.
 *
 * CloudFormation imports a resource automatically only when the template names
 * it with a static string (no `Ref` or `Fn::Join`), its `DeletionPolicy` is
 * `Retain` or `RetainExceptOnCreate`, and its type supports import. Every other
 * resource of the change set is created. These tests pin, on the synthesized
 * template, which resources those are and that they can be imported; they
 * cannot prove what CloudFormation itself does (moto_server does not implement
 * resource import).
 */
import { App } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import {
  LockingMode,
  StateEncryption,
  TerraformStateBackendStack,
  TerraformStateBackendProps,
} from '../lib';

const BUCKET = 'acme-terraform-state';
const TABLE = 'terraform-lock';

/** The property that holds each resource type's physical name (its primary identifier for import). */
const NAME_PROPERTY: Record<string, string> = {
  'AWS::S3::Bucket': 'BucketName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::SSM::Parameter': 'Name',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
};

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

function synth(props: TerraformStateBackendProps) {
  const app = new App();
  const stack = new TerraformStateBackendStack(app, 'TerraformStateBackend', { backend: props });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  return { template, resources };
}

/** `Type name` for each resource whose physical name is a static string: what auto-import can match. */
function staticallyNamed(resources: Record<string, CfnResource>): string[] {
  return Object.values(resources)
    .filter((r) => typeof r.Properties?.[NAME_PROPERTY[r.Type]] === 'string')
    .map((r) => `${r.Type} ${r.Properties![NAME_PROPERTY[r.Type]] as string}`)
    .sort();
}

/** The one resource of `type` whose name property is `name`. */
function named(resources: Record<string, CfnResource>, type: string, name: string): CfnResource {
  const found = Object.values(resources).filter((r) => r.Type === type && r.Properties?.[NAME_PROPERTY[type]] === name);
  expect(found).toHaveLength(1);
  return found[0];
}

/** The configurations the bootstrap app can deploy, from the plainest to everything on. */
const CONFIGURATIONS: Record<string, TerraformStateBackendProps> = {
  'names only': { bucketName: BUCKET, lockTableName: TABLE },
  'KMS, both locks, organization boundary': {
    bucketName: BUCKET,
    lockTableName: TABLE,
    encryption: StateEncryption.KMS,
    locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE,
    organizationId: 'o-abcd123456',
    stateHistoryAdmins: ['arn:aws:iam::123456789012:role/StateAdmin'],
  },
  'KMS with replication (the hardened profile)': {
    bucketName: BUCKET,
    lockTableName: TABLE,
    encryption: StateEncryption.KMS,
    replication: { region: 'eu-central-1' },
  },
};

describe('adopting a hand-made bucket and table', () => {
  test('the state bucket has exactly the given name and is retained on delete and on replacement', () => {
    const { resources } = synth({ bucketName: BUCKET, lockTableName: TABLE });
    const bucket = named(resources, 'AWS::S3::Bucket', BUCKET);
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
  });

  test('the lock table has exactly the given name, is retained, and is keyed exactly like the classic walkthroughs\' table', () => {
    const { resources } = synth({ bucketName: BUCKET, lockTableName: TABLE });
    const table = named(resources, 'AWS::DynamoDB::Table', TABLE);
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    // `aws dynamodb create-table --attribute-definitions AttributeName=LockID,AttributeType=S
    //  --key-schema AttributeName=LockID,KeyType=HASH`: a key schema that differs cannot be
    // updated in place, and a replacement of a named table fails.
    expect(table.Properties!.KeySchema).toEqual([{ AttributeName: 'LockID', KeyType: 'HASH' }]);
    expect(table.Properties!.AttributeDefinitions).toEqual([{ AttributeName: 'LockID', AttributeType: 'S' }]);
    expect(table.Properties!.GlobalSecondaryIndexes).toBeUndefined();
    expect(table.Properties!.LocalSecondaryIndexes).toBeUndefined();
  });

  test('without `bucketName` the bucket name is computed (Fn::Join), which auto-import cannot match: adoption needs it given', () => {
    const { resources } = synth({});
    const buckets = Object.values(resources).filter((r) => r.Type === 'AWS::S3::Bucket' && r.Properties?.BucketName !== undefined);
    expect(buckets).toHaveLength(1);
    expect(buckets[0].Properties!.BucketName).toHaveProperty(['Fn::Join']);
    // The table's default name is a plain string, so a hand-made `terraform-lock` matches it.
    expect(staticallyNamed(resources)).toContain(`AWS::DynamoDB::Table ${TABLE}`);
  });

  test.each(Object.keys(CONFIGURATIONS))('%s: every resource with a static name is retained, so it can be imported', (name) => {
    const { resources } = synth(CONFIGURATIONS[name]);
    const fixed = Object.entries(resources)
      .filter(([, r]) => typeof r.Properties?.[NAME_PROPERTY[r.Type]] === 'string');
    expect(fixed.length).toBeGreaterThanOrEqual(2);
    for (const [id, r] of fixed) {
      expect({ id, DeletionPolicy: r.DeletionPolicy, UpdateReplacePolicy: r.UpdateReplacePolicy })
        .toEqual({ id, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  test('the statically named resources are the bucket, the table, the discovery parameters and the key alias, as the README lists', () => {
    expect(staticallyNamed(synth(CONFIGURATIONS['names only']).resources)).toEqual([
      `AWS::DynamoDB::Table ${TABLE}`,
      `AWS::S3::Bucket ${BUCKET}`,
      'AWS::SSM::Parameter /terraform/backend/backend-config',
      'AWS::SSM::Parameter /terraform/backend/bucket',
      'AWS::SSM::Parameter /terraform/backend/lock-table',
      'AWS::SSM::Parameter /terraform/backend/region',
    ]);
    expect(staticallyNamed(synth(CONFIGURATIONS['KMS with replication (the hardened profile)']).resources)).toEqual([
      `AWS::DynamoDB::Table ${TABLE}`,
      `AWS::KMS::Alias alias/${BUCKET}`,
      `AWS::S3::Bucket ${BUCKET}`,
      'AWS::SSM::Parameter /terraform/backend/backend-config',
      'AWS::SSM::Parameter /terraform/backend/bucket',
      'AWS::SSM::Parameter /terraform/backend/kms-key-arn',
      'AWS::SSM::Parameter /terraform/backend/lock-table',
      'AWS::SSM::Parameter /terraform/backend/region',
    ]);
  });

  test('everything else is created on adoption: the log bucket, both bucket policies, the key and the replication role and policy', () => {
    const { resources } = synth(CONFIGURATIONS['KMS with replication (the hardened profile)']);
    const created = Object.values(resources)
      .filter((r) => r.Type !== 'AWS::CDK::Metadata' && typeof r.Properties?.[NAME_PROPERTY[r.Type]] !== 'string')
      .map((r) => r.Type)
      .sort();
    expect(created).toEqual([
      'AWS::IAM::ManagedPolicy',
      'AWS::IAM::Role',
      'AWS::KMS::Key',
      'AWS::S3::Bucket',
      'AWS::S3::BucketPolicy',
      'AWS::S3::BucketPolicy',
    ]);
  });
});

import { App, Stack } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { LockingMode, StateEncryption, TerraformStateBackend, TerraformStateBackendStack } from '../lib';

// A net under the fine-grained assertions: any change to the default stack's
// template shows up here. Update it deliberately (`npx jest -u test/snapshot.test.ts`)
// and say why in the commit message.
test('default stack template', () => {
  const app = new App();
  const stack = new TerraformStateBackendStack(app, 'TerraformStateBackend');
  expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
});

/**
 * Everything on: a customer key made here, replication, the organization
 * boundary, history admins, discovery under a custom prefix, both locks,
 * access logs, and grants (read-write with workspaces, read, discovery) to
 * roles of the same stack.
 */
function everythingOn(): Stack {
  const stack = new Stack(new App(), 'EverythingOn', { env: { account: '123456789012', region: 'eu-west-1' } });
  const backend = new TerraformStateBackend(stack, 'Backend', {
    encryption: StateEncryption.KMS,
    locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE,
    lockTableName: 'terraform-lock-all',
    stateKey: 'network/terraform.tfstate',
    workspaceKeyPrefix: 'workspaces',
    replication: { region: 'eu-central-1' },
    organizationId: 'o-abcdefghij',
    stateHistoryAdmins: ['arn:aws:iam::123456789012:role/StateAdmin'],
    discoveryPrefix: '/terraform/all/',
  });
  const ci = new iam.Role(stack, 'CiRole', { assumedBy: new iam.AccountRootPrincipal() });
  backend.grants.readWrite(ci, { keyPattern: 'network/*', workspaces: true });
  backend.grants.discoveryRead(ci);
  const reader = new iam.Role(stack, 'ReaderRole', { assumedBy: new iam.AccountRootPrincipal() });
  backend.grants.read(reader);
  return stack;
}

// Named resources (bucket, table, key alias, parameters) must never change
// their logical IDs: CloudFormation would create a second resource of the same
// name, and the deploy fails. Listed by name, so a change reads as one.
const EVERYTHING_ON_LOGICAL_IDS = [
  'BackendAccessLogBucket27A12841',
  'BackendAccessLogBucketPolicy3945DB46',
  'BackendDiscoveryBackendConfigA7FBF82F',
  'BackendDiscoveryBucket99E798E6',
  'BackendDiscoveryKmsKeyArnC7964502',
  'BackendDiscoveryLockTable0D95C37A',
  'BackendDiscoveryRegionC42A951D',
  'BackendLockTable5C1C0CEA',
  'BackendReplicationPermissions59EEDAB1',
  'BackendReplicationServiceRoleC9F183DF',
  'BackendStateBucketBF5F84A2',
  'BackendStateBucketPolicy07398176',
  'BackendStateKey59881BAE',
  'BackendStateKeyAliasD27DA5A1',
  'CiRole5A6E8228',
  'CiRoleDefaultPolicy75A45C3F',
  'ReaderRole6150FC74',
  'ReaderRoleDefaultPolicyF70EDFD1',
];

test('everything-on template', () => {
  expect(Template.fromStack(everythingOn()).toJSON()).toMatchSnapshot();
});

test('everything-on logical IDs', () => {
  const ids = Object.keys(Template.fromStack(everythingOn()).toJSON().Resources).sort();
  expect(ids).toEqual(EVERYTHING_ON_LOGICAL_IDS);
});

/**
 * Integration test on a real AWS account: Terraform's lock round-trip and a
 * state write and read against a deployed `TerraformStateBackendStack`.
 *
 * `npm test` only synthesizes this app and compares it with the committed
 * snapshot (`test/integ.lock-roundtrip.ts.snapshot/`), without AWS
 * (`npm run integ`; `npm run integ:update` rewrites the snapshot). To deploy it,
 * run the assertions and destroy it again, use credentials for a test account
 * that has been `cdk bootstrap`ped (the assertion stack has a Lambda asset; the
 * backend stack itself needs no bootstrap):
 *
 *   APP='npx ts-node --transpile-only --project tsconfig.dev.json test/integ.lock-roundtrip.ts'
 *   npx cdk deploy --app "$APP" --all --require-approval never --outputs-file cdk.out/integ-outputs.json \
 *     && node scripts/integ-snapshot.js --check-outputs cdk.out/integ-outputs.json
 *   npx cdk destroy --app "$APP" --all --force
 *
 * (integ-runner 2.197.10 cannot read aws-cdk-lib 2.276's cloud assemblies; see
 * scripts/integ-snapshot.js.)
 *
 * The steps, in order (each waits for the one before):
 *   1. acquire: `PutItem` of the lock item with `attribute_not_exists(LockID)`,
 *      exactly as Terraform takes the lock;
 *   2. a second, identical conditional `PutItem` fails with
 *      `ConditionalCheckFailedException` (run by a probe function that reports
 *      the error's name, because a failing SDK call fails an `awsApiCall`); the
 *      probe runs with `grants.readWrite()`, so the grant is tested too;
 *   3. release: `DeleteItem` of the lock item;
 *   4. `PutObject` of a state file, then `GetObject` returns it (over TLS: the
 *      bucket policy denies anything else);
 *   5. `DeleteObject` of that object version, so that the bucket is empty and
 *      the stack can be destroyed;
 *   6. the discovery parameter `lock-table` names the table.
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Aws, RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { TerraformStateBackendStack } from '../lib';

const app = new App();

// Throw-away names, so that the test never meets a real backend in the account,
// and DESTROY, so that integ-runner's clean-up leaves nothing behind. Access
// logs are off: S3 delivers them minutes later, into a log bucket that would
// then no longer be empty when the stack is destroyed. History protection is
// off so that step 5 may delete the version it made. The discovery parameters
// get their own prefix, beside any real backend's.
const backendStack = new TerraformStateBackendStack(app, 'TerraformStateBackendInteg', {
  backend: {
    bucketName: `terraform-state-integ-${Aws.ACCOUNT_ID}-${Aws.REGION}`,
    lockTableName: 'terraform-lock-integ',
    stateKey: 'integ/terraform.tfstate',
    removalPolicy: RemovalPolicy.DESTROY,
    serverAccessLogs: false,
    protectStateHistory: false,
    discoveryPrefix: '/terraform-integ/lock-roundtrip/',
  },
});
const backend = backendStack.backend;

const assertionStack = new Stack(app, 'TerraformStateBackendIntegAssertions');
assertionStack.addStackDependency(backendStack);

const integ = new IntegTest(app, 'LockRoundtrip', {
  testCases: [backendStack],
  assertionStack,
  // The retained-by-default resources are DESTROY here, but an update from an
  // older snapshot could still replace named resources: deploy fresh each time.
  stackUpdateWorkflow: false,
});

const tableName = backend.lockTableName ?? 'terraform-lock-integ';
const lockId = `${backend.bucketName}/${backend.stateKey}`;
const info = JSON.stringify({
  ID: '00000000-0000-0000-0000-000000000001',
  Operation: 'OperationTypeApply',
  Info: '',
  Who: 'integ@lock-roundtrip',
  Version: '1.10.0',
  Created: '2026-01-01T00:00:00Z',
  Path: backend.stateKey,
});
// Terraform's lock: `PutItem` conditioned on the item not existing.
const lockRequest = {
  TableName: tableName,
  Item: { LockID: { S: lockId }, Info: { S: info } },
  ConditionExpression: 'attribute_not_exists(LockID)',
};

// Runs one conditional `PutItem` and answers with its outcome instead of failing.
const probe = new lambda.Function(assertionStack, 'LockProbe', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline([
    "const { DynamoDBClient, PutItemCommand } = require('@aws-sdk/client-dynamodb');",
    'const client = new DynamoDBClient({});',
    'exports.handler = async (request) => {',
    '  try {',
    '    await client.send(new PutItemCommand(request));',
    "    return { outcome: 'Acquired' };",
    '  } catch (err) {',
    '    return { outcome: err.name };',
    '  }',
    '};',
  ].join('\n')),
  description: 'Integration test: one conditional PutItem, reporting the outcome',
});
backend.grants.readWrite(probe);

// 1. Acquire.
const acquire = integ.assertions.awsApiCall('DynamoDB', 'putItem', lockRequest);

// 2. The second identical request finds the lock taken.
const contend = integ.assertions.invokeFunction({
  functionName: probe.functionName,
  payload: assertionStack.toJsonString(lockRequest),
});
contend.expect(ExpectedResult.objectLike({
  Payload: Match.serializedJson({ outcome: 'ConditionalCheckFailedException' }),
}));

// 3. Release.
const release = integ.assertions.awsApiCall('DynamoDB', 'deleteItem', {
  TableName: tableName,
  Key: { LockID: { S: lockId } },
  ConditionExpression: 'attribute_exists(LockID)',
});

// 4. Write and read the state.
const state = { version: 4, terraform_version: '1.10.0', serial: 1, lineage: 'integ-lock-roundtrip', outputs: {}, resources: [] };
const put = integ.assertions.awsApiCall('S3', 'putObject', {
  Bucket: backend.bucket.bucketName,
  Key: backend.stateKey,
  Body: JSON.stringify(state),
  ContentType: 'application/json',
});
const get = integ.assertions.awsApiCall('S3', 'getObject', {
  Bucket: backend.bucket.bucketName,
  Key: backend.stateKey,
});
get.expect(ExpectedResult.objectLike({ Body: Match.serializedJson(state) }));

// 5. Remove the state version, so that the versioned bucket is empty again.
const remove = integ.assertions.awsApiCall('S3', 'deleteObject', {
  Bucket: backend.bucket.bucketName,
  Key: backend.stateKey,
  VersionId: put.getAttString('VersionId'),
});
remove.provider.addToRolePolicy({
  Effect: 'Allow',
  Action: ['s3:DeleteObjectVersion'],
  Resource: [backend.bucket.arnForObjects(backend.stateKey)],
});

// 6. Pipelines find the table through the discovery parameters.
const discover = integ.assertions.awsApiCall('SSM', 'getParameter', {
  Name: '/terraform-integ/lock-roundtrip/lock-table',
});
discover.expect(ExpectedResult.objectLike({ Parameter: { Value: tableName } }));

acquire.next(contend).next(release).next(put).next(get).next(remove).next(discover);

app.synth();

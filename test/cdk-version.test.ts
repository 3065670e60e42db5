import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib/core';
import { TerraformStateBackend, TerraformStateBackendStackSet, TerraformStateReplica } from '../lib';
import { AWS_CDK_LIB_FLOOR, awsCdkLibVersionFault, installedAwsCdkLibVersion } from '../lib/private/cdk-version';

// The constructors read aws-cdk-lib's package.json; a test may pretend another version is installed.
let mockInstalledVersion: string | undefined;
jest.mock('aws-cdk-lib/package.json', () => {
  const actual = jest.requireActual('aws-cdk-lib/package.json');
  return { ...actual, get version() { return mockInstalledVersion ?? actual.version; } };
});

describe('aws-cdk-lib version floor', () => {
  test('is the floor of the aws-cdk-lib peer dependency', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
    expect(pkg.peerDependencies['aws-cdk-lib']).toBe(`^${AWS_CDK_LIB_FLOOR}`);
  });

  test('reads the installed aws-cdk-lib version, which passes', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('aws-cdk-lib')), 'package.json'), 'utf8'));
    expect(installedAwsCdkLibVersion()).toBe(pkg.version);
    expect(awsCdkLibVersionFault(installedAwsCdkLibVersion())).toBeUndefined();
  });

  test.each(['2.276.0', '2.276.1', '2.277.0', '2.300.12', '3.0.0', '2.276.0+build.5', '2.277.0-rc.1', '0.0.0'])('accepts %s', (version) => {
    expect(awsCdkLibVersionFault(version)).toBeUndefined();
  });

  test('does not judge a version it cannot read or parse', () => {
    expect(awsCdkLibVersionFault(undefined)).toBeUndefined();
    expect(awsCdkLibVersionFault('latest')).toBeUndefined();
  });

  test.each(['2.275.0', '2.275.99', '2.269.0', '2.251.0', '2.0.0', '2.276.0-rc.1', '1.204.0'])('refuses %s in one sentence naming the version, the floor and why', (version) => {
    const fault = awsCdkLibVersionFault(version);
    expect(fault).toBe(`cdk-terraform-state-backend needs aws-cdk-lib 2.276.0 or later, but aws-cdk-lib ${version} is installed: `
      + 'before 2.276.0, iam.Grant.addToPrincipalOrResource drops the conditions of resource-policy statements, '
      + 'so cross-account state grants would lose their s3:prefix and dynamodb:LeadingKeys conditions without an error; '
      + 'upgrade it with `npm install aws-cdk-lib@^2.276.0` (or your language\'s package manager).');
  });

  describe('each construct that makes resources checks it first', () => {
    beforeEach(() => {
      mockInstalledVersion = '2.275.0';
    });
    afterEach(() => {
      mockInstalledVersion = undefined;
    });

    test.each([
      ['TerraformStateBackend', (stack: Stack) => new TerraformStateBackend(stack, 'Backend')],
      ['TerraformStateReplica', (stack: Stack) => new TerraformStateReplica(stack, 'Replica')],
      // Props that are themselves faulty: the version is reported before them.
      ['TerraformStateBackendStackSet', (stack: Stack) => new TerraformStateBackendStackSet(stack, 'StackSet', { organizationalUnitIds: [], regions: [] })],
    ])('%s', (_name, make) => {
      const stack = new Stack(new App(), 'Stack');
      expect(installedAwsCdkLibVersion()).toBe('2.275.0');
      expect(() => make(stack)).toThrow(/^cdk-terraform-state-backend needs aws-cdk-lib 2\.276\.0 or later, but aws-cdk-lib 2\.275\.0 is installed: /);
    });
  });
});

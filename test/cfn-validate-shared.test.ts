/**
 * The CloudFormation validation engine that test/support/jest-environment.ts shares
 * between the syntheses and test files of a jest worker validates as aws-cdk-lib's own,
 * unshared, does: the same findings for the same templates, synthesis after synthesis,
 * whatever resource types each has. (The shared engine is what makes the unit tests fast;
 * this proves it is not what makes them pass.)
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, CfnResource, Stack } from 'aws-cdk-lib/core';

/** Resources CloudFormation Validate faults (a bad name, an unknown property), of three types, in three syntheses. */
const SYNTHESES: Array<Record<string, { type: string; properties: Record<string, unknown> }>> = [
  { Bucket: { type: 'AWS::S3::Bucket', properties: { BucketName: 'Not_Valid', NoSuchProperty: 1 } } },
  { Table: { type: 'AWS::DynamoDB::Table', properties: { KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }], BillingMode: 'SOMETIMES' } } },
  {
    Bucket: { type: 'AWS::S3::Bucket', properties: { BucketName: 'Not_Valid' } },
    Key: { type: 'AWS::KMS::Key', properties: { KeySpec: 'NO_SUCH_SPEC' } },
    Param: { type: 'AWS::SSM::Parameter', properties: { Type: 'String', Value: 'x' } },
  },
];

/**
 * Synthesizes each app of SYNTHESES in turn and returns, for each, CloudFormation
 * Validate's report: its conclusion and its findings (rule, resource, message), sorted.
 * The same function runs here, in jest, and (as source) in a plain Node process.
 */
function validateAll(cdk: { App: typeof App; Stack: typeof Stack; CfnResource: typeof CfnResource }, syntheses: typeof SYNTHESES): string[][] {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const nodeFs: typeof fs = require('fs');
  const nodePath: typeof path = require('path');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return syntheses.map((resources) => {
    const app = new cdk.App();
    const stack = new cdk.Stack(app, 'Stack');
    for (const [id, props] of Object.entries(resources)) new cdk.CfnResource(stack, id, props);
    const assembly = app.synth();
    const report = JSON.parse(nodeFs.readFileSync(nodePath.join(assembly.directory, 'validation-report.json'), 'utf8'));
    return report.pluginReports.flatMap((r: any) => [
      `${r.pluginName}: ${r.conclusion}`,
      ...r.violations.flatMap((v: any) => v.violatingConstructs.map((c: any) => `${v.ruleName} ${c.cloudFormationResource?.logicalId}: ${v.description}`)).sort(),
    ]);
  });
}

describe('the CloudFormation validation engine shared by the tests', () => {
  let shared: string[][];

  beforeAll(() => {
    // aws-cdk-lib prints each report (as warnings): expected here, and noise.
    const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      shared = validateAll({ App, Stack, CfnResource }, SYNTHESES);
    } finally {
      quiet.mockRestore();
    }
  });

  test('is what aws-cdk-lib gets, and one engine serves syntheses of different resource types', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require('@aws/cloudformation-validate');
    expect(typeof module.sharedEngineCount).toBe('function');
    expect(module.sharedEngineCount()).toBe(1);
  });

  test('reports every synthesis\'s findings, as aws-cdk-lib validating on its own in plain Node does', () => {
    // Each synthesis found what its resources hold, and the plugin itself did not fail.
    expect(shared.map((report) => report.length)).toEqual([3, 3, 3]);
    for (const report of shared) expect(report[0]).toBe('CloudFormation Validate: success');
    expect(shared[0]).toEqual(expect.arrayContaining([expect.stringMatching(/^F3031 Bucket: BucketName: 'Not_Valid' does not match pattern/)]));

    const script = `const cdk = require('aws-cdk-lib');
      process.stdout.write(JSON.stringify((${validateAll.toString()})(cdk, ${JSON.stringify(SYNTHESES)})));`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`plain Node did not validate: ${r.error?.message ?? ''}\n${r.stderr}`);
    expect(shared).toEqual(JSON.parse(r.stdout));
  });
});

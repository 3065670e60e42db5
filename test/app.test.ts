import * as fs from 'fs';
import * as path from 'path';
import { App, LegacyStackSynthesizer } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildBootstrapApp, nagFindings } from '../bin/app';

function synthApp(context: Record<string, string> = {}) {
  const app = new App({ context });
  const stack = buildBootstrapApp(app).backend!;
  const assembly = app.synth();
  return { app, stack, assembly, artifact: assembly.getStackArtifact(stack.artifactId) };
}

describe('bootstrap app', () => {
  test('with no context: one environment-agnostic stack named TerraformStateBackend', () => {
    const { assembly, artifact } = synthApp();
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['TerraformStateBackend']);
    expect(artifact.environment).toEqual({ account: 'unknown-account', region: 'unknown-region', name: 'aws://unknown-account/unknown-region' });
  });

  test('needs no CDK bootstrap: no assets, no bootstrap version, no deploy role, an inline template', () => {
    const { assembly, artifact, stack } = synthApp();
    expect(stack.synthesizer).toBeInstanceOf(LegacyStackSynthesizer);
    expect(artifact.assets).toEqual([]);
    expect(assembly.artifacts.filter((a) => a.constructor.name === 'AssetManifestArtifact')).toEqual([]);
    expect(artifact.requiresBootstrapStackVersion).toBeUndefined();
    expect(artifact.assumeRoleArn).toBeUndefined();
    expect(artifact.cloudFormationExecutionRoleArn).toBeUndefined();
    expect(artifact.stackTemplateAssetObjectUrl).toBeUndefined();
    const bytes = fs.statSync(path.join(assembly.directory, artifact.templateFile)).size;
    expect(bytes).toBeLessThan(51_200);
  });

  test('has no custom resources, Lambda functions or parameters', () => {
    const { artifact } = synthApp();
    const template = artifact.template;
    const types = Object.values<{ Type: string }>(template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t.startsWith('Custom::') || t.startsWith('AWS::Lambda::') || t === 'AWS::CloudFormation::CustomResource')).toEqual([]);
    expect(template.Parameters).toBeUndefined();
  });

  test('runs cdk-nag AwsSolutions and finds nothing', () => {
    const { assembly, artifact } = synthApp();
    expect(nagFindings(assembly)).toEqual([]);
    // The pack did run: cdk-nag's report lists the rules it checked.
    const reports = fs.readdirSync(assembly.directory).filter((f) => /^AwsSolutions-.*NagReport\.csv$/.test(f));
    expect(reports).toHaveLength(1);
    const report = fs.readFileSync(path.join(assembly.directory, reports[0]), 'utf8');
    expect(report).toContain(`"AwsSolutions-S1","${artifact.stackName}/Backend/StateBucket/Resource","Compliant"`);
  });

  test('reads bucketName, lockTableName, stateKey, workspaceKeyPrefix and stackName from context', () => {
    const { assembly, stack } = synthApp({
      stackName: 'TfBackend', bucketName: 'acme-tf-state', lockTableName: 'acme-locks', stateKey: 'core/terraform.tfstate', workspaceKeyPrefix: 'ws',
    });
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['TfBackend']);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'acme-tf-state' });
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'acme-locks' });
    expect(stack.backend.stateKey).toBe('core/terraform.tfstate');
    expect(stack.backend.workspaceKeyPrefix).toBe('ws');
  });

  test.each([
    ['S3_LOCKFILE', 'KMS'],
    ['DYNAMODB_AND_S3_LOCKFILE', 'KMS_MANAGED'],
  ])('reads locking=%s and encryption=%s from context, still with zero cdk-nag findings', (locking, encryption) => {
    const { assembly, stack } = synthApp({ locking, encryption });
    expect(stack.backend.locking).toBe(locking);
    expect(stack.backend.encryption).toBe(encryption);
    expect(nagFindings(assembly)).toEqual([]);
  });

  test('rejects an unknown locking or encryption value, naming the context key', () => {
    expect(() => synthApp({ locking: 'FILE' })).toThrow('context `locking` must be one of DYNAMODB, S3_LOCKFILE, DYNAMODB_AND_S3_LOCKFILE, got "FILE"');
    expect(() => synthApp({ encryption: 'kms' })).toThrow('context `encryption` must be one of S3_MANAGED, KMS_MANAGED, KMS, got "kms"');
  });
});

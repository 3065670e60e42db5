import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib/core';
import { StateEncryption, TerraformStateBackend } from '../lib';
import { hclLiteral, renderBackendBlock, renderBackendConfigFile } from '../lib/backend-config';

describe('renderBackendBlock', () => {
  test('prints the block as terraform fmt does: two-space indent, "=" aligned', () => {
    expect(renderBackendBlock({
      bucket: 'terraform-state-123456789012-eu-west-1',
      key: 'terraform.tfstate',
      region: 'eu-west-1',
      dynamodbTable: 'terraform-lock',
      encrypt: true,
    })).toBe([
      'terraform {',
      '  backend "s3" {',
      '    bucket         = "terraform-state-123456789012-eu-west-1"',
      '    key            = "terraform.tfstate"',
      '    region         = "eu-west-1"',
      '    dynamodb_table = "terraform-lock"',
      '    encrypt        = true',
      '  }',
      '}',
      '',
    ].join('\n'));
  });

  test('aligns on the longest attribute present and keeps a fixed attribute order', () => {
    expect(renderBackendBlock({
      workspaceKeyPrefix: 'workspaces',
      kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      encrypt: true,
      useLockfile: true,
      region: 'eu-west-1',
      key: 'k',
      bucket: 'b',
    })).toBe([
      'terraform {',
      '  backend "s3" {',
      '    bucket               = "b"',
      '    key                  = "k"',
      '    region               = "eu-west-1"',
      '    use_lockfile         = true',
      '    encrypt              = true',
      '    kms_key_id           = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"',
      '    workspace_key_prefix = "workspaces"',
      '  }',
      '}',
      '',
    ].join('\n'));
  });

  test('resolves tokens in a stack', () => {
    const stack = new Stack(new App(), 'Stack');
    const block = renderBackendBlock({ bucket: `state-${stack.account}`, key: 'k', region: stack.region, encrypt: true });
    expect(stack.resolve(block)).toEqual({
      'Fn::Join': ['', [
        'terraform {\n  backend "s3" {\n    bucket  = "state-',
        { Ref: 'AWS::AccountId' },
        '"\n    key     = "k"\n    region  = "',
        { Ref: 'AWS::Region' },
        '"\n    encrypt = true\n  }\n}\n',
      ]],
    });
  });
});

describe('renderBackendConfigFile', () => {
  test('prints the attributes alone, aligned, for -backend-config', () => {
    expect(renderBackendConfigFile({
      bucket: 'b',
      key: 'terraform.tfstate',
      region: 'us-east-1',
      useLockfile: true,
      encrypt: true,
    })).toBe([
      'bucket       = "b"',
      'key          = "terraform.tfstate"',
      'region       = "us-east-1"',
      'use_lockfile = true',
      'encrypt      = true',
      '',
    ].join('\n'));
  });
});

describe('hclLiteral', () => {
  test('quotes and escapes strings as HCL requires', () => {
    expect(hclLiteral('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(hclLiteral('line\nnext\ttab')).toBe('"line\\nnext\\ttab"');
    expect(hclLiteral('${var.x} %{if}')).toBe('"$${var.x} %%{if}"');
  });

  test('prints booleans bare', () => {
    expect(hclLiteral(true)).toBe('true');
    expect(hclLiteral(false)).toBe('false');
  });
});

describe('BackendConfig.kmsKeyId', () => {
  test('is documented (for every jsii language) as what the construct emits: a key ARN, or alias/aws/s3', () => {
    const jsii = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '.jsii'), 'utf8'));
    const property = jsii.types['cdk-terraform-state-backend.BackendConfig'].properties.find((p: { name: string }) => p.name === 'kmsKeyId');
    const docs = `${property.docs.summary} ${property.docs.remarks ?? ''}`;
    expect(docs).toContain('alias/aws/s3');
    expect(docs).toContain('KMS_MANAGED');
    expect(docs).not.toMatch(/^`kms_key_id`: the ARN of the customer-managed KMS key/);
    const emitted = (encryption: StateEncryption) =>
      new TerraformStateBackend(new Stack(new App(), 'Stack'), 'Backend', { encryption }).backendConfig().kmsKeyId;
    expect(emitted(StateEncryption.KMS_MANAGED)).toBe('alias/aws/s3');
    expect(emitted(StateEncryption.KMS)).toMatch(/^\$\{Token\[/);
    expect(emitted(StateEncryption.S3_MANAGED)).toBeUndefined();
  });
});

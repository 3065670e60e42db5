import { App, Stack } from 'aws-cdk-lib/core';
import { StateEncryption, TerraformStateBackend, TerraformStateBackendStack } from '../lib';

/**
 * The error annotations in `stack`, read from the construct tree: synthesizing
 * the colliding templates would only add aws-cdk-lib's own E3019 warnings.
 */
function errors(stack: Stack): string[] {
  return stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:error').map((m) => String(m.data)));
}

describe('two backends with the same physical names in one account and region are refused', () => {
  test('in one stack: bucket, lock table, KMS alias and discovery parameters, each naming both constructs and the prop', () => {
    const stack = new Stack(new App(), 'Stack', { env: { account: '123456789012', region: 'eu-west-1' } });
    new TerraformStateBackend(stack, 'A', { bucketName: 'acme-state', encryption: StateEncryption.KMS });
    new TerraformStateBackend(stack, 'B', { bucketName: 'acme-state', encryption: StateEncryption.KMS });
    expect(errors(stack)).toEqual([
      '`bucketName`: Stack/B and Stack/A would both have the state bucket "acme-state"; bucket names are global: give one of them another `bucketName`',
      '`lockTableName`: Stack/B and Stack/A would both have the lock table "terraform-lock" in the same account and region; ' +
      'table names are unique per account and region: give one of them another `lockTableName`',
      '`bucketName`: Stack/B and Stack/A would both have the KMS alias "alias/acme-state" in the same account and region; ' +
      'aliases are unique per account and region: give one of them another `bucketName`',
      '`discoveryPrefix`: Stack/B and Stack/A would both have the discovery parameters "/terraform/backend/bucket" in the same account and region; ' +
      'SSM parameter names are unique per account and region: give one of them another `discoveryPrefix`',
    ]);
  });

  test('in two environment-agnostic stacks, whose names are the same template expressions', () => {
    const app = new App();
    const first = new TerraformStateBackendStack(app, 'First');
    const second = new TerraformStateBackendStack(app, 'Second');
    expect(errors(first)).toEqual([]);
    const found = errors(second);
    expect(found).toHaveLength(3);
    expect(found[0]).toContain('`bucketName`: Second/Backend and First/Backend would both have the state bucket ');
    expect(found[1]).toContain('`lockTableName`: Second/Backend and First/Backend would both have the lock table "terraform-lock"');
    expect(found[2]).toContain('`discoveryPrefix`: Second/Backend and First/Backend');
  });

  test('not in other accounts or regions, or with other names', () => {
    const app = new App();
    const a = new TerraformStateBackendStack(app, 'A', { env: { account: '111111111111', region: 'eu-west-1' } });
    const b = new TerraformStateBackendStack(app, 'B', { env: { account: '222222222222', region: 'eu-west-1' } });
    const c = new TerraformStateBackendStack(app, 'C', { env: { account: '111111111111', region: 'us-east-1' } });
    const d = new TerraformStateBackendStack(app, 'D', {
      env: { account: '111111111111', region: 'eu-west-1' },
      backend: { bucketName: 'team-d-state', lockTableName: 'team-d-lock', discoveryPrefix: '/terraform/team-d/' },
    });
    for (const stack of [a, b, c, d]) {
      expect(errors(stack)).toEqual([]);
    }
  });
});

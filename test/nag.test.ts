import { App, Aspects, Stack, Validations } from 'aws-cdk-lib/core';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AwsSolutionsChecks as AwsSolutionsChecksV3 } from 'cdk-nag-v3';
import { TerraformStateBackend, TerraformStateBackendProps } from '../lib';

/** Findings of cdk-nag 2's AwsSolutions pack (Aspect + annotations). */
function nagV2Findings(props?: TerraformStateBackendProps): string[] {
  const app = new App();
  const stack = new Stack(app, 'Stack');
  new TerraformStateBackend(stack, 'Backend', props);
  Aspects.of(stack).add(new AwsSolutionsChecks());
  const annotations = Annotations.fromStack(stack);
  return [
    ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
  ].map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
}

/** Findings of cdk-nag 3's AwsSolutions pack (policy-validation plugin), run on the construct tree. */
function nagV3Findings(props?: TerraformStateBackendProps): string[] {
  const app = new App();
  const stack = new Stack(app, 'Stack');
  new TerraformStateBackend(stack, 'Backend', props);
  const pack = new AwsSolutionsChecksV3(app);
  Validations.of(app).addPlugins(pack);
  return pack.validateScope(app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName}: ${r.constructPath}`));
}

describe('cdk-nag AwsSolutions', () => {
  test('cdk-nag 2: a default backend has zero errors and zero warnings, with no suppression', () => {
    expect(nagV2Findings()).toEqual([]);
  });

  test('cdk-nag 3: a default backend has zero violations, with no acknowledgement', () => {
    expect(nagV3Findings()).toEqual([]);
  });

  test('the checks can fail: turning off access logs is reported by both versions', () => {
    expect(nagV2Findings({ serverAccessLogs: false })).toEqual([
      expect.stringMatching(/^\/Stack\/Backend\/StateBucket\/Resource: AwsSolutions-S1: /),
    ]);
    expect(nagV3Findings({ serverAccessLogs: false })).toEqual(['AwsSolutions-S1: Stack/Backend/StateBucket/Resource']);
  });

  test('a default backend carries no AwsSolutions suppression (the other packs\' are listed in data-protection.test.ts)', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    new TerraformStateBackend(stack, 'Backend');
    const template = JSON.stringify(app.synth().getStackByName('Stack').template);
    expect(template).toContain('cdk_nag');
    expect(template).not.toContain('AwsSolutions-');
    const acknowledged = stack.node.findAll().flatMap((c) => c.node.metadata)
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.keys(m.data as object));
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(acknowledged.filter((id) => id.includes('AwsSolutions'))).toEqual([]);
  });
});

import { LegacyStackSynthesizer, Stack, StackProps } from 'aws-cdk-lib/core';
import { Construct } from 'constructs';
import { TerraformStateBackend, TerraformStateBackendProps } from './terraform-state-backend';

/**
 * Properties of a `TerraformStateBackendStack`.
 */
export interface TerraformStateBackendStackProps extends StackProps {
  /**
   * The backend's settings.
   *
   * @default - the backend's defaults
   */
  readonly backend?: TerraformStateBackendProps;
}

/**
 * A ready stack around one `TerraformStateBackend`: the bootstrap stack that
 * gives Terraform a home in an account and region.
 *
 * A bootstrap stack must not need another bootstrap: unless a `synthesizer` is
 * given, it uses the `LegacyStackSynthesizer`, so `cdk deploy` deploys it with
 * the CLI's own credentials and an inline template, in an account where
 * `cdk bootstrap` never ran. Its template has no assets, custom resources or
 * Lambda functions.
 */
export class TerraformStateBackendStack extends Stack {
  /**
   * The state backend in this stack.
   */
  public readonly backend: TerraformStateBackend;

  /**
   * @param scope the app (or stage) to add the stack to
   * @param id the stack's construct ID, and its name unless `stackName` is given
   * @param props stack settings, and the backend's under `backend`; all optional
   */
  constructor(scope: Construct, id: string, props: TerraformStateBackendStackProps = {}) {
    super(scope, id, {
      ...props,
      synthesizer: props.synthesizer ?? new LegacyStackSynthesizer(),
      description: props.description ?? 'Terraform s3 backend: state bucket and lock table (cdk-terraform-state-backend)',
    });
    this.backend = new TerraformStateBackend(this, 'Backend', props.backend);
  }
}

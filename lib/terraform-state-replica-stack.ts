import { LegacyStackSynthesizer, Stack, StackProps } from 'aws-cdk-lib/core';
import { Construct } from 'constructs';
import { TerraformStateReplica, TerraformStateReplicaProps } from './terraform-state-replica';

/**
 * Properties of a `TerraformStateReplicaStack`.
 */
export interface TerraformStateReplicaStackProps extends StackProps, TerraformStateReplicaProps {}

/**
 * A ready stack around one `TerraformStateReplica`, for the replica region.
 * Deploy it before the backend stack that replicates into it. Like
 * `TerraformStateBackendStack`, it needs no CDK bootstrap unless a
 * `synthesizer` is given.
 */
export class TerraformStateReplicaStack extends Stack {
  /**
   * The replica in this stack.
   */
  public readonly replica: TerraformStateReplica;

  /**
   * @param scope the app (or stage) to add the stack to
   * @param id the stack's construct ID, and its name unless `stackName` is given
   * @param props stack settings and the replica's settings; all optional
   */
  constructor(scope: Construct, id: string, props: TerraformStateReplicaStackProps = {}) {
    super(scope, id, {
      ...props,
      synthesizer: props.synthesizer ?? new LegacyStackSynthesizer(),
      description: props.description ?? 'Terraform s3 backend: cross-region state replica (cdk-terraform-state-backend)',
    });
    this.replica = new TerraformStateReplica(this, 'Replica', props);
  }
}
